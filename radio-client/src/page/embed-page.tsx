import { Layout, Player, type PageProps } from './layout.tsx';

/** `/embed`: only the player, for other sites to put in an iframe. */
export function EmbedPage(props: PageProps) {
  return (
    <Layout title={`${props.stationName}: live`} playerScript={props.playerScript} bodyClass="embed">
      <main>
        <Player {...props} />
      </main>
    </Layout>
  );
}

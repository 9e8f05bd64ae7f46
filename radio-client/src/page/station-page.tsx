import { Layout, Player, type PageProps } from './layout.tsx';

/** `/`: the station's name and its player. */
export function StationPage(props: PageProps) {
  return (
    <Layout title={`${props.stationName}: live`} playerScript={props.playerScript}>
      <main>
        <h1>{props.stationName}</h1>
        <Player {...props} />
      </main>
    </Layout>
  );
}

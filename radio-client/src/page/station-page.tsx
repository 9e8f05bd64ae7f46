import { Layout, Player, type PageProps } from './layout.tsx';

/** `/`: the station's name, its player, and its HLS address for players of the listener's own. */
export function StationPage(props: PageProps) {
  return (
    <Layout title={`${props.stationName}: live`} playerScript={props.playerScript}>
      <main>
        <h1>{props.stationName}</h1>
        <Player {...props} />
        <p class="apps">
          <a href={props.hlsUrl} type="application/vnd.apple.mpegurl">Listen in VLC or your radio app</a> (open or copy this
          address there)
        </p>
      </main>
    </Layout>
  );
}

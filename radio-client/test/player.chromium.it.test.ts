import { expect, it } from 'vitest';
import { click, element, probeOutput, statusText, waitFor, waitForAudible } from './support/player-page.ts';
import { describePlayerScenarios, openStationPage } from './support/player-scenarios.ts';

describePlayerScenarios('chromium', (ctx) => {
  it("hands the station's HLS playlist to the element where MSE plays neither codec, and tells what the element makes of it", async () => {
    const hlsRequests: string[] = [];
    const hlsPage = await openStationPage(ctx, async (page) => {
      page.on('request', (request) => {
        if (/\.m3u8$|\/init-\d{10}\.mp4$|\.m4s$/.test(request.url())) hlsRequests.push(request.url().slice(ctx.station.publicUrl.length));
      });
      await page.evaluateOnNewDocument(() => {
        MediaSource.isTypeSupported = () => false;
      });
    });
    try {
      await click(hlsPage, 'play-button');
      await probeOutput(hlsPage);
      await waitFor(hlsPage, 'playing or an error', () => ['playing', 'error'].includes(document.querySelector('radio-player')!.state));
      expect((await element(hlsPage)).src).toBe(`${ctx.station.publicUrl}/live.m3u8`);
      expect(hlsRequests.slice(0, 2)).toEqual(['/live.m3u8', '/lq/playlist.m3u8']);
      if ((await hlsPage.evaluate(() => document.querySelector('radio-player')!.state)) === 'error') {
        // Chromium 156's own HLS player moves to the HQ variant at once and then refuses the codec
        // change (it does not use changeType itself); Safari's switches. The player says so.
        expect(await statusText(hlsPage)).toMatch(/^The station's HLS stream could not be played \(.*codec changes not allowed.*\)\.$/);
      } else {
        await waitForAudible(hlsPage);
      }
    } finally {
      await hlsPage.close();
    }
  });
});

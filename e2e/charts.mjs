// Checks that an ECharts chart of the admin app has data and was drawn.
// EChart.vue sets data-points on the chart's element to the number of data
// items in all series.
import assert from 'node:assert/strict';

/**
 * Waits until the chart named name has series data, and returns how many
 * of its canvas pixels are drawn and how many distinct colours they have.
 */
export async function chartDrawing(page, name) {
  const chart = page.locator(`[data-chart="${name}"]`);
  await chart.waitFor({ state: 'visible' });
  await page.waitForFunction((selector) => Number(document.querySelector(selector)?.dataset.points) > 0,
    `[data-chart="${name}"]`, { timeout: 30_000 });
  // ECharts animates the first drawing for about a second.
  await page.waitForTimeout(1500);
  return chart.evaluate((element) => {
    const canvas = element.querySelector('canvas');
    if (!canvas) return { points: 0, drawn: 0, colours: 0 };
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    const colours = new Set();
    for (let i = 0; i < pixels.length; i += 4 * 7) {
      if (pixels[i + 3] > 0) {
        drawn++;
        colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
      }
    }
    return { points: Number(element.dataset.points), drawn, colours: colours.size };
  });
}

/** Fails unless the chart named name has data and a canvas with several colours drawn. */
export async function assertChartDrawn(page, name) {
  const drawing = await chartDrawing(page, name);
  assert.ok(drawing.points > 0, `${name} has no series data`);
  assert.ok(drawing.drawn > 200, `${name} canvas is blank (${drawing.drawn} sampled pixels drawn)`);
  assert.ok(drawing.colours > 3, `${name} canvas has only ${drawing.colours} colours, so no series was drawn`);
}

// Builders of the ECharts options the pages share. Each takes plain rows
// ({name, value}) so pages stay free of chart details.

const palette = ['#2f6fde', '#f5a623', '#3fb27f', '#e5534b', '#8e6cef', '#1fb6c1', '#f0c419', '#a0a7b4'];

/** Colours of the kindergarten grade levels, from 示范园 down to 未定级. */
export const levelColours = {
  model: '#e5534b', level1: '#f5a623', level2: '#3fb27f', level3: '#2f6fde', unrated: '#a0a7b4',
};

const percent = (value) => `${(value * 100).toFixed(1)}%`;

/** Builds a bar chart of rows in their order. With horizontal, names go on the y axis. */
export function barOption(rows, { horizontal = false, rate = false, colour = palette[0] } = {}) {
  const names = rows.map((row) => row.name);
  const values = rows.map((row) => row.value);
  const category = { type: 'category', data: names, axisLabel: { interval: 0, rotate: horizontal ? 0 : 40 } };
  const value = { type: 'value', axisLabel: rate ? { formatter: percent } : {} };
  return {
    color: [colour],
    tooltip: { trigger: 'axis', valueFormatter: rate ? percent : undefined },
    grid: { left: horizontal ? 120 : 48, right: 24, top: 24, bottom: horizontal ? 24 : 80 },
    xAxis: horizontal ? value : category,
    yAxis: horizontal ? { ...category, inverse: true } : value,
    series: [{ type: 'bar', data: values, barMaxWidth: 28 }],
  };
}

/** Builds a line chart of points ({at, count}) labelled by label(at). */
export function lineOption(points, label, { area = false, colour = palette[0], markPoints = [] } = {}) {
  return {
    color: [colour],
    tooltip: { trigger: 'axis' },
    grid: { left: 56, right: 24, top: 32, bottom: 40 },
    xAxis: { type: 'category', data: points.map((point) => label(point.at)) },
    yAxis: { type: 'value' },
    series: [{
      type: 'line', smooth: true, data: points.map((point) => point.count), areaStyle: area ? { opacity: 0.2 } : undefined,
      markPoint: markPoints.length ? { data: markPoints } : undefined,
    }],
  };
}

/** Builds a ring chart of rows. */
export function pieOption(rows, { colours = palette } = {}) {
  return {
    color: colours,
    tooltip: { trigger: 'item', formatter: '{b}：{c}（{d}%）' },
    legend: { type: 'scroll', bottom: 0 },
    series: [{ type: 'pie', radius: ['40%', '68%'], center: ['50%', '45%'], data: rows, label: { formatter: '{b}\n{d}%' } }],
  };
}

/**
 * Builds a map of Shanghai's districts coloured by value (a choropleth), with
 * optional points ({name, value: [longitude, latitude], level}) coloured
 * by level.
 */
export function districtMapOption(rows, { rate = false, points = [], dark = false, seriesName = '' } = {}) {
  const values = rows.map((row) => row.value);
  const max = values.length ? Math.max(...values) : 1;
  const option = {
    tooltip: { trigger: 'item', formatter: (item) => (item.seriesType === 'scatter' ? item.name : `${item.name}：${rate ? percent(item.value || 0) : (item.value ?? 0)}`) },
    visualMap: {
      min: 0, max: max || 1, calculable: true, left: 8, bottom: 8,
      inRange: { color: dark ? ['#143a66', '#2f9bff', '#7ff0ff'] : ['#e3efff', '#5b9bf0', '#1a4fa8'] },
      textStyle: { color: dark ? '#cfe3ff' : '#333' },
      formatter: rate ? (value) => percent(value) : undefined,
      seriesIndex: 0,
    },
    geo: {
      map: 'shanghai', roam: true, zoom: 1.15,
      label: { show: true, fontSize: 10, color: dark ? '#e6f1ff' : '#333' },
      itemStyle: { borderColor: dark ? '#4fc3ff' : '#fff', areaColor: dark ? '#0d2a4a' : '#eef3fb' },
      emphasis: { itemStyle: { areaColor: '#f5a623' } },
    },
    series: [{ type: 'map', name: seriesName, geoIndex: 0, data: rows }],
  };
  if (points.length) {
    option.series.push({
      type: 'scatter', coordinateSystem: 'geo', symbolSize: 5, data: points,
      itemStyle: { color: (item) => levelColours[item.data.level] || '#fff' },
    });
  }
  return option;
}

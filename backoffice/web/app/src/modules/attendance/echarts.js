// The parts of ECharts this module uses, registered once, so the bundle
// keeps only those (ECharts 5 tree-shakes through echarts/core).
import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, CanvasRenderer]);

export { echarts };

/** Formats a rate between 0 and 1 as a percentage with one decimal, or — when there is none. */
export function percent(rate) {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`;
}

/** Builds a bar chart option of values by name, shown as percentages when asRate is true. */
export function barOption({ names, series, asRate = false, horizontal = false }) {
  const valueAxis = { type: 'value', axisLabel: asRate ? { formatter: (v) => `${Math.round(v * 100)}%` } : {} };
  const categoryAxis = { type: 'category', data: names, axisLabel: { interval: 0, rotate: horizontal ? 0 : 30 } };
  return {
    tooltip: { trigger: 'axis', valueFormatter: asRate ? percent : undefined },
    legend: series.length > 1 ? { top: 0 } : undefined,
    grid: { left: horizontal ? 140 : 50, right: 20, top: 30, bottom: horizontal ? 30 : 70 },
    xAxis: horizontal ? valueAxis : categoryAxis,
    yAxis: horizontal ? { ...categoryAxis, axisLabel: { interval: 0 }, inverse: true } : valueAxis,
    series: series.map((s) => ({ type: 'bar', name: s.name, data: s.data, stack: s.stack })),
  };
}

/** Builds a pie chart option of {name, value} items, leaving out the empty ones so no 0 % slice is drawn. */
export function pieOption(items) {
  items = items.filter((item) => item.value > 0);
  return {
    tooltip: { trigger: 'item', formatter: '{b}：{c}（{d}%）' },
    legend: { bottom: 0 },
    series: [{ type: 'pie', radius: ['35%', '65%'], data: items, label: { formatter: '{b}\n{d}%' } }],
  };
}

/** Builds a line chart option of several series over the same categories. */
export function lineOption({ categories, series, asRate = false }) {
  return {
    tooltip: { trigger: 'axis', valueFormatter: asRate ? percent : undefined },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 50, right: 20, top: 40, bottom: 40 },
    xAxis: { type: 'category', data: categories },
    yAxis: { type: 'value', scale: true, axisLabel: asRate ? { formatter: (v) => `${(v * 100).toFixed(1)}%` } : {} },
    series: series.map((s) => ({ type: 'line', name: s.name, data: s.data, smooth: true, showSymbol: categories.length < 40 })),
  };
}

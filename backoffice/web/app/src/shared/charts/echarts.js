// The ECharts build of the admin app: only the charts and components the
// pages use, and the map of Shanghai's districts registered once as
// 'shanghai'.
import * as echarts from 'echarts/core';
import { BarChart, GraphChart, LineChart, MapChart, PieChart, ScatterChart } from 'echarts/charts';
import {
  GeoComponent, GridComponent, LegendComponent, MarkPointComponent, TitleComponent, TooltipComponent, VisualMapComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import shanghaiDistricts from './shanghai-districts.json';

echarts.use([
  BarChart, GraphChart, LineChart, MapChart, PieChart, ScatterChart,
  GeoComponent, GridComponent, LegendComponent, MarkPointComponent, TitleComponent, TooltipComponent, VisualMapComponent,
  CanvasRenderer,
]);
echarts.registerMap('shanghai', shanghaiDistricts);

export { echarts };

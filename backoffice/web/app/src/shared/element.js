// Registers the Element Plus components the app uses, so the build keeps
// only those. ElMessage is imported where it is called. The full stylesheet
// (48 KB gzip in the vite build output) is loaded once here.
//
// Child components are registered by their parent's plugin, because their
// own exports have a no-op install in Element Plus 2. For example ElContainer
// registers ElHeader, ElAside and ElMain, ElRadio registers ElRadioGroup and
// ElRadioButton, ElTable registers ElTableColumn, ElTabs registers
// ElTabPane and ElCheckbox registers ElCheckboxGroup.
import {
  ElAlert, ElButton, ElCard, ElCheckbox, ElConfigProvider, ElContainer, ElDatePicker, ElDescriptions, ElDialog,
  ElDivider, ElDrawer, ElEmpty, ElForm, ElIcon, ElInput, ElInputNumber, ElLoading, ElMenu, ElPagination, ElRadio,
  ElResult, ElSelect, ElSwitch, ElTable, ElTabs, ElTag, ElTooltip, ElTree,
} from 'element-plus';
import 'element-plus/dist/index.css';

const plugins = [
  ElAlert, ElButton, ElCard, ElCheckbox, ElConfigProvider, ElContainer, ElDatePicker, ElDescriptions, ElDialog,
  ElDivider, ElDrawer, ElEmpty, ElForm, ElIcon, ElInput, ElInputNumber, ElLoading, ElMenu, ElPagination, ElRadio,
  ElResult, ElSelect, ElSwitch, ElTable, ElTabs, ElTag, ElTooltip, ElTree,
];

export function installElementPlus(app) {
  for (const plugin of plugins) app.use(plugin);
}

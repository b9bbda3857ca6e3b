// Registers the Element Plus components the app uses, so the build keeps
// only those. ElMessage is imported where it is called. The full stylesheet
// (48 KB gzip in the vite build output) is loaded once here.
//
// Child components are registered by their parent's plugin, because their
// own exports have a no-op install in Element Plus 2. For example ElContainer
// registers ElHeader, ElAside and ElMain, ElRadio registers ElRadioGroup and
// ElRadioButton, and ElTable registers ElTableColumn.
import {
  ElAlert, ElButton, ElCard, ElConfigProvider, ElContainer, ElDescriptions, ElDrawer, ElEmpty, ElForm,
  ElIcon, ElInput, ElLoading, ElMenu, ElPagination, ElRadio, ElResult, ElSelect, ElTable, ElTag,
  ElDatePicker, ElDialog,
} from 'element-plus';
import 'element-plus/dist/index.css';

const plugins = [
  ElAlert, ElButton, ElCard, ElConfigProvider, ElContainer, ElDescriptions, ElDrawer, ElEmpty, ElForm,
  ElIcon, ElInput, ElLoading, ElMenu, ElPagination, ElRadio, ElResult, ElSelect, ElTable, ElTag,
  ElDatePicker, ElDialog,
];

export function installElementPlus(app) {
  for (const plugin of plugins) app.use(plugin);
}

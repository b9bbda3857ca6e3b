// Chinese texts shared by the whole app: the system name, the layout and
// the messages of the API client. Each module keeps its own texts in its
// strings.js.
export const appStrings = {
  systemName: '上海市学前教育管理系统',
  appName: '管理端',
  signOut: '退出',
  signedOut: '您已退出登录。',
  scopeCity: '数据范围：全市',
  scopeDistrict: (districtName) => `数据范围：${districtName}`,
  scopeStreet: '数据范围：本街道（镇）',
  scopeKindergarten: '数据范围：本园',
  scopeNone: '不接触业务数据',
  notFoundTitle: '页面不存在',
  notFoundBody: '您访问的页面不存在或已移动，请从左侧菜单重新进入。',
  backHome: '返回首页',
  forbiddenTitle: '无权访问',
  forbiddenBody: '您的角色没有此页面的权限。如需使用，请联系安全管理员为您的角色配置权限。',
  changePassword: '修改密码',
  emptyValue: '—',
};

export const clientStrings = {
  networkError: '无法连接管理端服务，请检查网络后重试。',
  // Used only when a response has no error body of the API's shape, for
  // example a gateway's own error page.
  serverError: (status) => `服务暂时无法使用（HTTP ${status}），请稍后再试。`,
  invalidResponse: '服务返回的数据无法识别，请稍后再试。',
  signedOutByServer: '登录已失效，请重新登录。',
};

// Chinese texts of the security audit module (安全审计): the audit trail
// and the sign-in log.
export const auditStrings = {
  menuTitle: '安全审计',
  auditTitle: '审计日志',
  loginLogTitle: '登录日志',

  filterTime: '时间',
  filterStart: '开始日期',
  filterEnd: '结束日期',
  filterActor: '操作人',
  filterActorPlaceholder: '姓名或用户名',
  filterAction: '操作',
  filterActionPlaceholder: '选择或输入操作',
  filterResource: '对象类型',
  filterResourceId: '对象编号',
  filterResourceIdPlaceholder: '如 42',
  filterOutcome: '结果',
  filterDistrict: '所属区',
  filterAll: '全部',
  search: '查询',
  reset: '重置',
  export: '导出 Excel',
  exportEmpty: '没有符合条件的记录，无需导出。',
  exportStarted: (total) => `正在导出 ${total} 条记录，文件将由浏览器下载。`,
  verify: '校验哈希链',

  at: '时间',
  actor: '操作人',
  actorRole: '角色',
  ip: 'IP 地址',
  action: '操作',
  target: '对象',
  district: '所属区',
  outcome: '结果',
  detail: '说明',
  before: '变更前',
  after: '变更后',
  noState: '无',
  systemActor: '系统',
  deniedAction: (request) => `越权访问 ${request}`,
  noEvents: '暂无审计记录',
  noMatchingEvents: '没有符合条件的审计记录',

  verifyTitle: '审计日志哈希链校验',
  verifyIntact: (rows) => `校验通过：共 ${rows} 条记录，哈希链完整，未发现删除或篡改。`,
  verifyBroken: (rows, problems) => `校验未通过：共 ${rows} 条记录，发现 ${problems} 处异常。`,
  verifyProblemId: '记录编号',
  verifyProblemReason: '异常说明',
  close: '关闭',

  username: '用户名',
  usernamePlaceholder: '用户名包含',
  result: '登录结果',
  resultSuccess: '成功',
  resultFailure: '失败',
  stage: '登录环节',
  reason: '原因',
  userAgent: '浏览器',
  noLogins: '暂无登录记录',
  noMatchingLogins: '没有符合条件的登录记录',
};

// The audited actions of the back office. An action missing here, such as
// one a newer module records, is shown by its code.
export const actionLabels = {
  'staff.create': '创建账号',
  'staff.update': '修改账号',
  'staff.password_reset': '重置密码',
  'staff.password_change': '本人修改密码',
  'staff.totp_reset': '重置动态验证码',
  'staff.totp_enable': '绑定动态验证码',
  'staff.lock': '锁定账号',
  'staff.unlock': '解除锁定',
  'role.update': '修改角色权限',
  'dictionary.item.create': '新增字典项',
  'dictionary.item.update': '修改字典项',
  'dictionary.item.delete': '删除字典项',
  'audit.export': '导出审计日志',
  'login_log.export': '导出登录日志',
};

// The resource types the trail names, in the order of the filter.
export const resourceLabels = {
  staff_user: '账号',
  role: '角色',
  dictionary_item: '字典项',
  access: '越权访问',
  audit_event: '审计日志',
  login_log: '登录日志',
};

export const outcomeOptions = [
  { value: 'success', label: '成功' },
  { value: 'denied', label: '拒绝' },
  { value: 'failed', label: '失败' },
];

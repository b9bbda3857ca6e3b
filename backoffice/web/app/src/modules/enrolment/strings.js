// Chinese texts of the enrolment module (入园招生).
export const enrolmentStrings = {
  menuTitle: '入园招生',
  registrationsTitle: '登记信息',
  applicationsTitle: '报名信息',

  filterStatus: '状态',
  filterAllStatuses: '全部状态',
  filterRegistrationNumber: '登记编号',
  filterRegistrationNumberPlaceholder: '完整的 12 位登记编号',
  filterApplicationNumber: '报名或登记编号',
  filterApplicationNumberPlaceholder: '完整的报名编号或登记编号',
  filterDistrict: '所在区',
  filterApplicationDistrict: '报名区',
  filterAllDistricts: '全市',
  search: '查询',
  reset: '重置',

  lookupTitle: '查找登记编号',
  lookupHelp: '输入完整的登记编号，直接查看该登记的详情。',
  lookupPlaceholder: '请输入登记编号',
  lookupButton: '查找',
  lookupRequired: '请输入登记编号。',

  registrationNumber: '登记编号',
  applicationNumber: '报名编号',
  year: '入园年份',
  yearValue: (year) => `${year} 年`,
  childName: '幼儿姓名',
  childSex: '性别',
  childBirthDate: '出生日期',
  documentType: '证件类型',
  childDocumentNumber: '证件号码',
  guardian: (index) => `监护人${index + 1}`,
  guardianValue: (g) => `${g.name}（${g.relation}），手机 ${g.phone || '—'}，${g.documentType || '证件'} ${g.documentNumber || '—'}`,
  maskedNote: '证件号和手机号已按角色脱敏显示。',
  categoryGroup: '户籍类别',
  hukouDistrict: '户籍所在区',
  residenceDistrict: '居住区',
  residenceStreet: '居住街道（镇）',
  status: '状态',
  verificationNote: '核验说明',
  acceptedAt: '受理时间',
  recordedAt: '入库时间',
  times: '受理和入库时间',
  acceptedShort: '受理',
  recordedShort: '入库',
  district: '报名区',
  category: '入园类别',
  choices: '志愿',
  actions: '操作',
  details: '详情',

  drawerTitle: (number) => `登记详情 · ${number}`,
  drawerLoading: '正在加载登记详情…',

  noRegistrations: '暂无登记信息',
  noApplications: '暂无报名信息',
  noMatchingRegistrations: '没有符合条件的登记信息，请调整筛选条件。',
  noMatchingApplications: '没有符合条件的报名信息，请调整筛选条件。',
  noChoices: '未填报志愿',
};

const chineseNumerals = ['一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];

/** Returns the label of the choice at index (0 is 志愿一). */
export function choiceLabel(index) {
  return `志愿${chineseNumerals[index] ?? index + 1}`;
}

// The same labels as the back office's statusLabel. They fill the status
// filters and replace a missing statusLabel in a response.
export const registrationStatusLabels = {
  recorded: '已入库',
  verified: '已核验',
  needs_manual_verification: '待人工核验',
};

export const applicationStatusLabels = {
  recorded: '已入库',
  documents_verified: '验证通过',
  returned: '已退回',
  admitted: '已录取',
  not_admitted: '未录取',
  deleted: '已删除',
};

// Every Chinese text that the parents' pages show, grouped by page, so that
// the pages read alike. Messages from the edge (error.message) are shown as
// they come and are not repeated here.

export const siteTitle = '上海市适龄幼儿入园登记报名';

export const common = {
  skipToContent: '跳到正文',
  signIn: '登录',
  signInHint: '使用“随申办”统一身份认证账号登录',
  signOut: '退出登录',
  greeting: (name) => `您好，${name}`,
  home: '返回首页',
  loading: '正在加载…',
  required: '必填',
  optional: '选填',
  pleaseChoose: '请选择',
  yes: '是',
  no: '否',
  open: '开放中',
  notYetOpen: '未开始',
  closed: '已结束',
  networkError: '网络连接失败，请检查网络后重试。已填写的内容不会丢失。',
  serverError: '系统暂时无法处理请求，请稍后重试。已填写的内容不会丢失。',
  catalogueFailed: '招生信息加载失败，请刷新页面重试。',
  reload: '刷新页面',
  retry: '重试',
  retryIn: (seconds) => `请 ${seconds} 秒后重试`,
  retryNow: '现在可以重新提交了。',
  signInExpired: '登录已过期或尚未登录，请重新登录。已填写的内容已暂存在本页，登录后会自动恢复。',
  signInAgain: '重新登录',
  notFoundTitle: '页面不存在',
  notFoundBody: '您访问的页面不存在，请从首页重新进入。',
  timeRange: (from, to) => `${from} 至 ${to}`,
  formErrorSummary: '提交未成功，请按提示修改标红的内容。',
  fixBeforeSubmit: (count) => `有 ${count} 项内容需要修改，请按提示填写后再提交。`,
  draftRestored: '已恢复您上次在本页填写但尚未提交的内容。',
  characterCount: (count, max) => `${count}/${max} 字`,
  atCharacterLimit: (max) => `已达到 ${max} 字上限。`,
  overCharacterLimit: (max, extra) => `已超出 ${max} 字上限 ${extra} 个字，请删减后再提交。`,
  clearDraft: '清空重填',
  confirmClearDraft: '确定清空已填写的全部内容吗？',
};

export const home = {
  yearTitle: (year) => `${year} 年度适龄幼儿入园`,
  noYear: '本年度招生信息尚未发布，请留意所在区教育局的通知。',
  birthRange: (from, to) => `登记对象：${from} 至 ${to}（含）出生的适龄幼儿。`,
  registrationWindow: '信息登记',
  applicationWindow: '入园报名',
  steps: '办理流程：先完成信息登记并取得登记编号，再在报名期内选择报名区和志愿幼儿园。',
  startRegistration: '开始信息登记',
  registrationNotOpen: '信息登记不在开放时间内。',
  myReceipts: '我的办理',
  noReceipts: '暂无办理记录。',
  receiptsFailed: '办理记录加载失败，请稍后刷新页面。',
  viewReceipt: '查看进度',
  child: '幼儿',
  goApply: '去报名',
  signInPrompt: '登录后可进行信息登记、报名和查询办理进度。',
};

export const kinds = {
  registration: '信息登记',
  application: '入园报名',
};

export const numberLabels = {
  registration: '登记编号',
  application: '报名编号',
};

export const register = {
  title: '信息登记',
  signInRequired: '请先登录后再进行信息登记。',
  closed: '当前不在信息登记开放时间内，暂不能提交。',
  submit: '提交登记',
  submitting: '正在提交…',
  alreadyRegistered: '该幼儿已有登记记录。',
  viewExisting: (number) => `查看登记编号 ${number} 的办理进度`,
  fieldUnsupported: '此项暂不支持在线填写，请联系所在区招生服务点。',
};

export const receipt = {
  title: '办理回执',
  duplicateNote: '已提交过，以下为原回执。',
  status: '当前状态',
  acceptedAt: '受理时间',
  childName: '幼儿姓名',
  note: '说明',
  choices: '志愿',
  unknownCampus: (id) => `幼儿园（编号 ${id}）`,
  firstNumber: (number) => `该幼儿的原登记编号为 ${number}。`,
  registrationNumber: '对应登记编号',
  district: '报名区',
  refreshing: '状态会自动更新，无需刷新页面。',
  keepNumber: '请记下或截图保存编号，用于查询办理进度。',
  notFound: '未找到该回执。请核对编号，并确认使用的是办理时登录的账号。',
  signInToView: '登录已过期或尚未登录，请登录后查看回执。',
  goApply: '去报名',
  applyAgain: '修改后重新报名',
  downloadPdf: '下载登记表（PDF）',
  pdfLoading: '正在生成登记表…',
  pdfRetryAfter: (message, seconds) => `${message}（约 ${seconds} 秒后可重试）`,
  myReceipts: '查看我的办理',
  // What each status means for the parent, by the receipt's kind.
  statusHints: {
    registration: {
      accepted: '系统已收到您的登记，正在保存。',
      recorded: '登记已保存到招生系统，正在核验身份信息。',
      verified: '身份信息已核验通过。',
      needs_manual_verification: '身份信息需要人工核验，区招生部门将尽快处理，请留意通知。',
      deleted: '该登记已按区招生部门的申请删除。如需入园，请在登记期内重新登记。',
    },
    application: {
      accepted: '系统已收到您的报名，正在保存。',
      recorded: '报名已提交，等待所在区审核。',
      documents_verified: '报名材料已审核通过，请等待录取结果。',
      returned: '报名已被区招生部门退回，请查看说明，在报名期内修改后重新提交。',
      admitted: '已录取，请按所在区教育局的通知办理入园手续。',
      not_admitted: '本次报名未被录取，请留意所在区教育局的后续安排。',
      deleted: '该报名已删除。',
    },
  },
};

// Returns a file size limit given in KB as people write it: "2 MB" from
// 1024 KB up, else "500 KB".
function sizeText(sizeKB) {
  return sizeKB >= 1024 ? `${Math.round(sizeKB / 1024)} MB` : `${sizeKB} KB`;
}

// Returns a certificate's file limits with a size limit of maxSizeKB.
function certificateFileLimits(certificate, maxSizeKB) {
  return `文件类型：${certificate.acceptedTypes.map((type) => type.toUpperCase()).join('、')}；`
    + `单个不超过 ${sizeText(maxSizeKB)}；最多 ${certificate.maxCount} 份。`;
}

export const apply = {
  certificatesNeeded: '需提交的证照材料',
  requiredMark: '必交',
  certificateLimits: (certificate) => `${certificateFileLimits(certificate, certificate.maxSizeKB)}请在报名验证时提交。`,
  certificatesUpload: '上传证照材料',
  // The edge's upload route takes files of up to 5 MB, whatever the
  // certificate library allows.
  certificateUploadLimits: (certificate) => certificateFileLimits(certificate, Math.min(certificate.maxSizeKB, 5120)),
  certificateMissing: (name) => `请上传${name}。`,
  certificateFull: (maxCount) => `已上传 ${maxCount} 份，达到上限。如需更换，请先移除一份。`,
  certificateFileLabel: (name, index) => `${name}第 ${index + 1} 份`,
  certificateUploadMore: '继续上传',
  title: '入园报名',
  forRegistration: (number) => `登记编号：${number}`,
  chooseDistrict: '报名区',
  districtHelp: '可在户籍所在区或居住所在区报名，一名幼儿只能在一个区报名。',
  districtOption: (name, roles) => `${name}（${roles.join('、')}）`,
  hukouDistrict: '户籍所在区',
  residenceDistrict: '居住所在区',
  loadingDistricts: '正在读取幼儿登记的户籍所在区和居住所在区…',
  districtsFailed: '未能读取幼儿登记的户籍所在区和居住所在区，下面列出全部区，请选择其中之一。',
  loadingOptions: '正在查询报名入口和对口幼儿园…',
  entry: '报名入口',
  category: '报名类别',
  window: '报名时间',
  entryClosed: '该入口当前不在报名时间内，暂不能提交。',
  campuses: '可选幼儿园',
  noCampuses: '该地址暂无对口幼儿园，请咨询所在区招生服务点。',
  maxChoices: (count) => `最多可填报 ${count} 个志愿，按优先顺序排列。`,
  choices: '已选志愿',
  noChoices: '尚未选择志愿幼儿园，请从下方列表中选择。',
  choiceOrdinal: (index) => `志愿${['一', '二', '三', '四', '五', '六', '七', '八', '九', '十'][index] ?? index + 1}`,
  choose: '选为志愿',
  chosen: '已选',
  full: '志愿已满',
  moveUp: '上移',
  moveDown: '下移',
  remove: '移除',
  moveUpLabel: (name) => `上移：${name}`,
  moveDownLabel: (name) => `下移：${name}`,
  removeLabel: (name) => `移除：${name}`,
  submit: '提交报名',
  submitting: '正在提交…',
  alreadyApplied: '该幼儿已提交过报名。',
  viewExisting: (number) => `查看报名编号 ${number} 的办理进度`,
  existingApplication: (number, status) => (status
    ? `该幼儿已有报名记录（报名编号 ${number}，${status}），不能重复报名。`
    : `该幼儿已有报名记录（报名编号 ${number}），不能重复报名。`),
  existingApplicationHelp: '如需修改，请等待区招生部门退回后，在报名期内重新提交。',
  pickDistrictFirst: '请先选择报名区。',
  pickChoice: '请至少选择一所志愿幼儿园。',
  inclusive: '普惠性',
};

export const fields = {
  sexes: [
    { value: 'M', label: '男' },
    { value: 'F', label: '女' },
  ],
  documentType: '证件类型',
  documentNumber: '证件号码',
  nationality: '国籍',
  nationalityOther: '国籍代码',
  nationalityOtherHelp: '请填写三位字母的国家代码（ISO 3166-1），如 USA。',
  inShanghai: '是否本市户籍',
  province: '户籍所在省份',
  provinceOptional: '持港澳台或外国证件的幼儿可不填。',
  hukouDistrict: '户籍所在区',
  residenceDistrict: '居住所在区',
  street: '街道（镇）',
  committee: '居（村）委',
  noCommittee: '该街道（镇）无需选择居（村）委',
  loadingOptions: '正在加载…',
  loadFailed: '选项加载失败，请重新选择或刷新页面。',
  hukouAddress: '户籍详细地址',
  detailAddress: '详细地址',
  addressPlaceholder: '路名、弄号、门牌号，如 漕溪北路100弄3号502室',
  copyHukouAddress: '与户籍地址相同',
  guardian: (index) => `监护人${index + 1}`,
  addGuardian: '添加监护人',
  removeGuardian: '删除此监护人',
  relation: '与幼儿关系',
  guardianName: '姓名',
  phone: '手机号码',
  phonePlaceholder: '11 位手机号码',
  guardianHukou: '该监护人为本市户籍',
  residenceProof: '上海市居住证件',
  residenceProofNone: '无',
  residenceProofNumber: '居住证件号码',
  pointsQualified: '居住证积分达标',
  residenceProofHelp: '外省市户籍幼儿的监护人持有本市居住证件的，请填写。',
  certificateFetch: '一键调取电子证照',
  certificateFetchLabel: (name) => `一键调取电子证照：${name}`,
  certificateFetchRetryLabel: (name, seconds) => `一键调取电子证照：${name}，请 ${seconds} 秒后重试`,
  certificateFetching: '正在调取…',
  certificateUpload: '拍照或选择文件上传',
  certificateUploadLabel: (name) => `上传${name}`,
  certificateUploading: '正在上传…',
  certificateReplace: '重新上传',
  certificatePrefilled: (maskedNumber) => `已调取电子证照，编号 ${maskedNumber}`,
  certificateHolder: (label) => `持证人：${label}`,
  certificateChild: '幼儿',
  certificateGuardian: (index, name) => (name ? `监护人${index + 1}（${name}）` : `监护人${index + 1}`),
  certificateGuardianPick: '用哪位监护人的证件调取',
  certificateUsesGuardian: (label) => `将用${label}的证件调取。`,
  certificateUploaded: (name) => `已上传：${name}`,
  certificateNotFound: '未查询到该电子证照，请拍照或扫描后上传。',
  certificateRemove: '移除',
  certificateNeedsDocument: '请先填写幼儿的证件类型和号码，再调取电子证照。',
  certificateNeedsGuardianDocument: (label) => `请先填写${label}的证件类型和号码，再调取电子证照。`,
  certificateHolderChanged: '持证人的证件号码已修改，之前调取的电子证照已移除，请重新调取。',
  certificateExpired: '电子证照调取结果已超过 2 小时有效期，请重新调取。',
  certificateFileTooLarge: '单个文件不能超过 5 MB，请压缩后重新上传。',
  certificateFileType: '只能上传 JPG、PNG 图片或 PDF 文件。',
  certificateFileTypes: (types) => `该证照只能上传 ${types.map((type) => type.toUpperCase()).join('、')} 格式的文件。`,
  certificateFileOverLimit: (maxSizeKB) => `该证照的单个文件不能超过 ${sizeText(maxSizeKB)}，请压缩后重新上传。`,
  certificateIssued: (issuer, date) => `${issuer}，${date} 签发`,
};

export const documentTypes = {
  resident_id: '居民身份证',
  hk_macau_permit: '港澳居民来往内地通行证',
  taiwan_permit: '台湾居民来往大陆通行证',
  hmt_residence_permit: '港澳台居民居住证',
  passport: '护照',
  none: '无证件',
};

export const guardianDocumentTypes = ['resident_id', 'hk_macau_permit', 'taiwan_permit', 'hmt_residence_permit', 'passport'];

export const relations = [
  { value: 'father', label: '父亲' },
  { value: 'mother', label: '母亲' },
  { value: 'grandparent', label: '祖父母或外祖父母' },
  { value: 'other', label: '其他监护人' },
];

export const residenceProofTypes = [
  { value: 'sh_residence_permit', label: '上海市居住证' },
  { value: 'sh_residence_registration', label: '居住登记凭证' },
  { value: 'overseas_talent_permit', label: '海外人才居住证' },
];

export const levels = {
  model: '示范园',
  level1: '一级',
  level2: '二级',
  level3: '三级',
  unrated: '未定级',
};

export const ownerships = {
  public: '公办',
  private: '民办',
};

// Provinces for a hukou outside Shanghai.
export const provinces = [
  '北京市', '天津市', '河北省', '山西省', '内蒙古自治区', '辽宁省', '吉林省', '黑龙江省', '江苏省', '浙江省',
  '安徽省', '福建省', '江西省', '山东省', '河南省', '湖北省', '湖南省', '广东省', '广西壮族自治区', '海南省',
  '重庆市', '四川省', '贵州省', '云南省', '西藏自治区', '陕西省', '甘肃省', '青海省', '宁夏回族自治区',
  '新疆维吾尔自治区',
];

// Common nationalities of passport holders, as ISO 3166-1 alpha-3 codes.
// OTHER lets the parent type any other code.
export const nationalities = [
  { value: 'USA', label: '美国' }, { value: 'JPN', label: '日本' }, { value: 'KOR', label: '韩国' },
  { value: 'SGP', label: '新加坡' }, { value: 'MYS', label: '马来西亚' }, { value: 'GBR', label: '英国' },
  { value: 'FRA', label: '法国' }, { value: 'DEU', label: '德国' }, { value: 'ITA', label: '意大利' },
  { value: 'ESP', label: '西班牙' }, { value: 'NLD', label: '荷兰' }, { value: 'CHE', label: '瑞士' },
  { value: 'SWE', label: '瑞典' }, { value: 'RUS', label: '俄罗斯' }, { value: 'CAN', label: '加拿大' },
  { value: 'AUS', label: '澳大利亚' }, { value: 'NZL', label: '新西兰' }, { value: 'THA', label: '泰国' },
  { value: 'VNM', label: '越南' }, { value: 'PHL', label: '菲律宾' }, { value: 'IDN', label: '印度尼西亚' },
  { value: 'IND', label: '印度' }, { value: 'PAK', label: '巴基斯坦' }, { value: 'BRA', label: '巴西' },
  { value: 'MEX', label: '墨西哥' }, { value: 'ZAF', label: '南非' }, { value: 'EGY', label: '埃及' },
  { value: 'ISR', label: '以色列' }, { value: 'TUR', label: '土耳其' },
  { value: 'OTHER', label: '其他国家' },
];

// Messages of the checks that run in the browser before a submission. The
// edge repeats every check and is the judge.
export const checks = {
  required: (label) => `请填写${label}。`,
  choose: (label) => `请选择${label}。`,
  tooLong: (label, max) => `${label}不能超过 ${max} 个字。`,
  date: (label) => `${label}不是有效日期，请按“年-月-日”格式填写，例如 2023-10-01。`,
  birthWindow: (from, to) => `本年度登记对象为 ${from} 至 ${to}（含）出生的适龄幼儿，请核对出生日期。`,
  residentIdFormat: '居民身份证号码应为18位，由17位数字加1位数字或字母X组成，请核对后重新填写。',
  hmtPermitFormat: '港澳台居民居住证号码应为18位，以810000、820000或830000开头，请核对后重新填写。',
  hkMacauFormat: '港澳居民来往内地通行证号码应为字母H或M加8位或10位数字，请核对后重新填写。',
  taiwanFormat: '台湾居民来往大陆通行证号码应为8位或10位数字，请核对后重新填写。',
  passportFormat: '护照号码应为5至17位字母或数字，请按护照上的号码重新填写。',
  idBirthDate: (label) => `${label}号码第7至14位的出生日期无效（如2月30日这样不存在的日期），请核对后重新填写。`,
  idChecksum: (label) => `${label}号码最后一位校验码不正确，请逐位核对号码后重新填写。`,
  sexMismatch: '性别与证件号码不一致，请核对。',
  birthDateMismatch: '出生日期与证件号码中的出生日期不一致，请核对。',
  nationalityFormat: '国籍应为三个字母的国家代码，如 USA、JPN。',
  phoneFormat: '请填写有效的手机号码：11位大陆手机号码，或以 + 开头的境外号码。',
  number: (label) => `${label}应为数字。`,
  range: (label) => `${label}超出允许范围，请核对。`,
  minLength: (label, min) => `${label}至少 ${min} 个字。`,
  pattern: (label) => `${label}的格式不正确，请核对。`,
  residenceProofNumber: '居住证件号码应为 4 至 32 位字母或数字，请核对。',
  guardianCount: (min, max) => `请填写 ${min} 至 ${max} 名监护人。`,
};

// 办不成事 feedback prompt (FeedbackDialog).
export const feedback = {
  idleTitle: '办理遇到困难了吗？',
  leaveTitle: '还没有提交，是遇到问题了吗？',
  manualTitle: '反映“办不成事”',
  intro: '如果您在办理入园登记报名时遇到了困难，请告诉我们。您的反映将转送上海市“好差评”系统，由相关部门跟进处理。',
  link: '办不成事？点此反映',
  category: '遇到的问题',
  body: '问题描述',
  bodyHint: (max) => `请简要描述遇到的问题（最多 ${max} 字）`,
  phone: '联系电话',
  phoneHint: '选填，便于工作人员联系您',
  submit: '提交反映',
  submitting: '正在提交…',
  continue: '继续办理',
  leave: '不用了，继续离开',
  chooseCategory: '请选择遇到的问题类型。',
  thanks: '感谢您的反映，我们会尽快跟进处理。',
  close: '关闭',
  unavailable: '反映功能暂时无法使用，请稍后再试。',
};

// Chinese texts of the sign-in module.
export const signInStrings = {
  pageTitle: '工作人员登录',
  loading: '正在加载登录方式…',
  passwordNotEnabled: '账号密码登录尚未开放',
  passwordNotEnabledBody: '工作人员账号密码和动态口令登录将在后续版本开放，目前无法登录。如需使用，请联系系统管理员。',
  devNotice: '开发登录：无需密码，可选择任一身份，仅用于开发和演示环境。',
  levelLabel: '登录身份',
  levelCity: '市级管理员',
  levelDistrict: '区级管理员',
  districtLabel: '所在区',
  districtPlaceholder: '请选择区',
  districtRequired: '请选择所在区。',
  submit: '登录',
  retry: '重新加载',
};

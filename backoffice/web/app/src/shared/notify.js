import { ElMessage } from 'element-plus';

/**
 * Shows a failed call's Chinese message. A 401 is skipped because the API
 * client's unauthorised handler already showed it, and so is an aborted
 * request, which a newer request replaced.
 */
export function showError(error) {
  if (error?.name === 'AbortError' || error?.status === 401) return;
  ElMessage.error({ message: error?.message || String(error), grouping: true, showClose: true });
}

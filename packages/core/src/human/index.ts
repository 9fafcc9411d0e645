export { humanDecisionOf } from './human-decision';
export { editNotice } from './edit-notice';

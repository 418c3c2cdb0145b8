export { actionKey, describeAction, offenderOf, restrictionId, type Action } from './action.js';
export { instancesByIp, noticeView, type InstancesByIp, type NoticeView } from './notice.js';
export { loadReactionProgram, noticeFacts, propose, type ReactionProgram } from './rules.js';
export { blastRadius, decide } from './guardrails.js';
export {
  foldReactions,
  isActive,
  reactionRecord,
  type InstalledRule,
  type Inverse,
  type Reaction,
  type ReactionEvent,
} from './ledger.js';

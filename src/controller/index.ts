export * from './node-script.js';
export * from './deployment.js';
export * from './records.js';
export * from './controller.js';
export { loadReactionProgram, type Reaction } from './reaction/index.js';
export { whyChain, reactionOf } from './why.js';
export { describeAction, foldReactions } from './reaction/index.js';

/** KV budgets, block eviction policies and context-shift plans: pure decisions over block tables. */
export { budgetBlocksOf, type ContextOverflow, type EvictionPolicy, type KvLimit, maxHeldBlocks, NO_LIMIT, USER_POLICIES } from './KvLimit.ts';
export { chooseVictims, shiftDropCount } from './victims.ts';
export { makeRoom, type Room } from './makeRoom.ts';

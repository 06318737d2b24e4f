import { CHAR, END, type Grammar, RULE } from './Grammar.ts';

/**
 * Every stack top of `depth` frames (positions, top first) the matcher could meet, read from the
 * grammar alone, so that masks can be split ahead of the first request (as XGrammar does at
 * compile time). `below` is 0 where the frames may be the whole stack, BOTTOM-bound (1) where
 * more frames may lie under them. A superset of the reachable ones: an extra costs preparation
 * time, never a wrong mask; one missed is split when first met.
 *
 * The stacks are the Automaton's: the top is a CHAR position; each frame below waits just after
 * a rule reference (kind[f - 1] === RULE) whose rule reaches the frame above through tail calls
 * (a reference in last place pushes no frame of its own: Automaton.after).
 */
export function stackKeys(g: Grammar, depth: number, bottom: number): { positions: number[]; below: number }[] {
  const rules = g.alts.length;
  const ruleOf = new Int32Array(g.kind.length);
  g.alts.forEach((alts, r) => {
    for (const a of alts) for (let p = a; ; p++) {
      ruleOf[p] = r;
      if (g.kind[p] === END) break;
    }
  });
  // tails[r]: the rules r runs in its caller's frame (itself, and what it calls last, transitively).
  const lastCalls = g.alts.map((alts) => alts.flatMap((a) => {
    let p = a;
    while (g.kind[p] !== END) p++;
    return p > a && g.kind[p - 1] === RULE ? [g.arg[p - 1]] : [];
  }));
  const tails = Array.from({ length: rules }, (_, r) => {
    const seen = new Set([r]);
    const todo = [r];
    while (todo.length > 0) for (const x of lastCalls[todo.pop()!]) if (!seen.has(x)) (seen.add(x), todo.push(x));
    return seen;
  });
  // framesUnder[r]: the frames that can lie just under a frame of rule r.
  const framesUnder: number[][] = Array.from({ length: rules }, () => []);
  for (let f = 1; f < g.kind.length; f++) {
    if (g.kind[f] === END || g.kind[f - 1] !== RULE) continue;
    for (const r of tails[g.arg[f - 1]]) framesUnder[r].push(f);
  }
  const out: { positions: number[]; below: number }[] = [];
  const extend = (chain: number[]): void => {
    const r = ruleOf[chain[chain.length - 1]];
    if (tails[g.root].has(r)) out.push({ positions: [...chain], below: 0 });
    if (chain.length === depth) {
      if (framesUnder[r].length > 0) out.push({ positions: [...chain], below: bottom });
      return;
    }
    for (const f of framesUnder[r]) extend([...chain, f]);
  };
  for (let p = 0; p < g.kind.length; p++) if (g.kind[p] === CHAR) extend([p]);
  return out;
}

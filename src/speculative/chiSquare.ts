// Chi-square tests for speculative sampling's claim (the output distribution is the target's):
// the unit tests' and the benchmark's (src/bench/speculativeSampled.ts) statistics.

/**
 * Pearson's chi-square goodness of fit: the p-value of `observed` counts under `expected`
 * probabilities (cells with probability 0 must have no counts; they are checked and left out).
 */
export function chiSquarePValue(observed: ArrayLike<number>, probs: ArrayLike<number>): number {
  const total = Array.from(observed).reduce((a, b) => a + b, 0);
  let stat = 0;
  let cells = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) {
      if (observed[i] !== 0) return 0;
      continue;
    }
    const e = probs[i] * total;
    stat += (observed[i] - e) ** 2 / e;
    cells++;
  }
  return cells <= 1 ? 1 : upperGamma((cells - 1) / 2, stat / 2);
}

/** The p-value that two samples' counts (over the same cells) come from one distribution (chi-square test of homogeneity). */
export function homogeneityPValue(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = Array.from(a).reduce((x, y) => x + y, 0);
  const nb = Array.from(b).reduce((x, y) => x + y, 0);
  let stat = 0;
  let cells = 0;
  for (let i = 0; i < a.length; i++) {
    const col = a[i] + b[i];
    if (col === 0) continue;
    const ea = (col * na) / (na + nb);
    const eb = (col * nb) / (na + nb);
    stat += (a[i] - ea) ** 2 / ea + (b[i] - eb) ** 2 / eb;
    cells++;
  }
  return cells <= 1 ? 1 : upperGamma((cells - 1) / 2, stat / 2);
}

/** Q(a, x), the regularized upper incomplete gamma function (Numerical Recipes' gammq). */
function upperGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnPre = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 500; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(lnPre);
  }
  // Lentz's continued fraction.
  let b = x + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(lnPre) * h;
}

/** Lanczos' approximation of ln Γ(z). */
function logGamma(z: number): number {
  const g = [676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  let x = 0.99999999999980993;
  for (let i = 0; i < g.length; i++) x += g[i] / (z + i);
  const t = z + g.length - 1.5;
  return 0.5 * Math.log(2 * Math.PI) + (z - 0.5) * Math.log(t) - t + Math.log(x);
}

// Derivative-free pattern search (Hooke–Jeeves) over the six rigid parameters. The NMI cost on a fixed sample
// set is piecewise smooth but not differentiable everywhere; a pattern search with a shrinking step needs no
// gradient, never takes a step that makes things worse, and its final step size is a direct statement of the
// precision reached (in millimetres, since rotations are scaled by a radius).

export interface SearchOptions {
  /** Initial step in parameter units (millimetres). */
  step: number;
  /** Stop once the step has shrunk below this. */
  minStep: number;
  /** Hard limit on cost evaluations. */
  maxEvaluations: number;
}

export interface SearchResult {
  parameters: number[];
  cost: number;
  evaluations: number;
  finalStep: number;
}

export function patternSearch(cost: (p: number[]) => number, start: number[], options: SearchOptions): SearchResult {
  let base = [...start];
  let best = cost(base);
  let evaluations = 1;
  let step = options.step;
  const explore = (from: number[], fromCost: number): { point: number[]; value: number } => {
    const point = [...from];
    let value = fromCost;
    for (let d = 0; d < point.length && evaluations < options.maxEvaluations; d++) {
      for (const sign of [1, -1]) {
        const trial = [...point];
        trial[d] += sign * step;
        const c = cost(trial);
        evaluations++;
        if (c < value) {
          value = c;
          point[d] = trial[d];
          break;
        }
      }
    }
    return { point, value };
  };
  while (step >= options.minStep && evaluations < options.maxEvaluations) {
    const moved = explore(base, best);
    if (moved.value < best) {
      // Pattern move: keep going in the direction that just paid off, as long as it keeps paying.
      let previous = base;
      base = moved.point;
      best = moved.value;
      while (evaluations < options.maxEvaluations) {
        const jump = base.map((v, d) => 2 * v - previous[d]);
        const jumpCost = cost(jump);
        evaluations++;
        const further = explore(jump, jumpCost);
        if (further.value >= best) break;
        previous = base;
        base = further.point;
        best = further.value;
      }
    } else {
      step /= 2;
    }
  }
  return { parameters: base, cost: best, evaluations, finalStep: step };
}

/**
 * Edits (insertions, deletions, substitutions, swaps of neighbours) that
 * turn `a` into `b`: `raed` is one from `read`.
 */
function edits(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) =>
    Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * What to say when the first word is no command: `serve` is the default
 * command (flags alone start the server), so a mistyped command would
 * otherwise reach it as an argument.
 */
export function unknownCommandMessage(word: string, commands: readonly string[]): string {
  const near = commands.filter(name => edits(name, word) <= Math.min(2, Math.floor(name.length / 2)));
  const hint = near.length === 0 ? '' : ` (did you mean ${near.join(' or ')}?)`;
  return `unknown command '${word}'${hint}; the commands are ${commands.join(', ')}`;
}

/** RUNBOOK.md's item tables: `| id | item | status | where |` rows under numbered sections. */
export interface RunbookItem {
  section: string;
  id: string;
  item: string;
  status: string;
  where: string;
}

export function parseRunbook(markdown: string): RunbookItem[] {
  const items: RunbookItem[] = [];
  let section = '';
  for (const line of markdown.split('\n')) {
    const heading = /^## (\d+)\. /.exec(line);
    if (heading) section = heading[1]!;
    const cells = line.split('|').map((c) => c.trim());
    // | id | item | status | where |  (split gives an empty first and last cell)
    if (cells.length !== 6 || !section || !/^[a-z][a-z-]*\.[a-z0-9-]+$/.test(cells[1]!)) continue;
    items.push({ section, id: cells[1]!, item: cells[2]!, status: cells[3]!, where: cells[4]! });
  }
  return items;
}

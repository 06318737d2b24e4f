/** One colour per chat pane: the pane's border, its blocks in the KV map, its legend entry. */
export const PANE_COLORS = ['#2dd4bf', '#f59e0b', '#a78bfa', '#f472b6'];

export const paneColor = (pane: number) => PANE_COLORS[pane % PANE_COLORS.length];

/** One constructed sheet per CSS text, shared by every shadow root that adopts it. */
const sheets = new Map<string, CSSStyleSheet>();

/**
 * Styles a shadow root through a constructable stylesheet: a page's CSP (`style-src`, or
 * `default-src` without it) blocks an inline `<style>`, but not a sheet built by script.
 * Browsers without adoptedStyleSheets get a `<style>` element, as before.
 */
export function adoptStyle(root: ShadowRoot, css: string): void {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    let sheet = sheets.get(css);
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      sheets.set(css, sheet);
    }
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
  } else {
    root.append(Object.assign(document.createElement('style'), { textContent: css }));
  }
}

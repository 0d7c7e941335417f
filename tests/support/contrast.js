// For every visible element with text of its own (or a filled-in field): its colour over the
// background painted behind it (its own and its ancestors' backgrounds, composited), and the
// WCAG contrast ratio; returns how many were checked and those under AA (4.5, large text 3).
// Evaluated by tests/test_pages_walk.py with page.evaluate.
() => {
  const rgba = (text) => {
    const parts = (text.match(/rgba?\(([^)]+)\)/) || [null, "0 0 0 0"])[1]
      .split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a),
    a: 1,
  });
  const luminance = (c) => {
    const channel = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  };
  const behind = (element) => {
    const chain = [];
    for (let e = element; e; e = e.parentElement) chain.unshift(e);
    let paint = rgba(getComputedStyle(document.documentElement).backgroundColor);
    if (paint.a === 0) paint = { r: 255, g: 255, b: 255, a: 1 };
    for (const e of chain) paint = over(rgba(getComputedStyle(e).backgroundColor), paint);
    return paint;
  };
  const textInputs = ["INPUT", "SELECT", "TEXTAREA"];
  const low = [];
  let checked = 0;
  for (const element of document.body.querySelectorAll("*")) {
    if (element.closest("[disabled]") || !element.checkVisibility()) continue;
    const ownText = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const isField = textInputs.includes(element.tagName) && element.value && element.type !== "hidden";
    if (!ownText && !isField) continue;
    const style = getComputedStyle(element);
    const background = behind(element);
    const colour = over(rgba(style.color), background);
    const [light, dark] = [luminance(colour), luminance(background)].sort((x, y) => y - x);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    checked += 1;
    if (ratio < (large ? 3 : 4.5)) {
      const text = (element.innerText || element.value || "").trim().slice(0, 40);
      low.push(`${element.tagName.toLowerCase()}.${element.className} "${text}" ${ratio.toFixed(2)}`);
    }
  }
  return { checked, low };
}

/**
 * Trust rules in the browser: filling in a template the admin API serves, and locating a position in
 * an expression. Nothing here judges an expression: the admin API compiles it and says where it fails.
 */

/** `{{NAME}}` inside a template's CEL string literals (the placeholder form of lib/rules/templates.ts). */
const PLACEHOLDER = /\{\{([A-Z_]+)\}\}/g;

/**
 * The rule of `template` with its placeholders filled from `values`, by the library's own rule: every
 * value must match its parameter's pattern, which admits no quote or backslash, so a value can never
 * change the expression's structure. Gives `{ rule }`, or `{ errors }` keyed by parameter name.
 *
 * @param {{ parameters: Array<{ name: string, pattern: string }>, rule: { name: string, condition: string, subject: string | null } }} template
 * @param {Record<string, string>} values
 */
export function fillTemplate(template, values) {
  const errors = {};
  for (const parameter of template.parameters) {
    const value = (values[parameter.name] ?? '').trim();
    if (value === '') errors[parameter.name] = `${parameter.name} is required.`;
    else if (!new RegExp(parameter.pattern).test(value)) errors[parameter.name] = `${parameter.name} must match ${parameter.pattern}.`;
  }
  if (Object.keys(errors).length > 0) return { errors };
  const fill = (text) =>
    text.replace(PLACEHOLDER, (_, name) => {
      const parameter = template.parameters.find((candidate) => candidate.name === name);
      // A placeholder without a declared parameter is the template's fault: never fill it with anything.
      if (!parameter) throw new Error(`The template uses {{${name}}}, which it does not declare.`);
      return values[name].trim();
    });
  try {
    return {
      rule: {
        name: template.rule.name,
        condition: fill(template.rule.condition),
        subject: template.rule.subject === null ? null : fill(template.rule.subject),
      },
    };
  } catch (error) {
    return { errors: { '': error.message } };
  }
}

/**
 * Where `{start, end}` falls in `source`, for a caret under it: the line that holds `start` (1-based
 * line and column) and how many characters of that line the range covers (at least one, so that an
 * error at the very end still shows a caret).
 */
export function locate(source, { start, end }) {
  const at = Math.max(0, Math.min(start, source.length));
  const lineStart = source.lastIndexOf('\n', at - 1) + 1;
  const next = source.indexOf('\n', at);
  const lineEnd = next < 0 ? source.length : next;
  const width = Math.max(1, Math.min(Math.max(end, at), lineEnd) - at);
  return {
    line: source.slice(0, lineStart).split('\n').length,
    column: at - lineStart + 1,
    text: source.slice(lineStart, lineEnd),
    // Tabs kept as tabs, so the caret lines up under a tab-indented line too.
    caret: `${source.slice(lineStart, at).replace(/[^\t]/g, ' ')}^${'~'.repeat(width - 1)}`,
  };
}

/** Lint warnings without repeats (an IdP's answer and a rule's answer may carry the same one). */
export function uniqueWarnings(...lists) {
  const seen = new Set();
  const out = [];
  for (const list of lists) {
    for (const warning of Array.isArray(list) ? list : []) {
      const key = `${warning.code}\u0000${warning.rule ?? ''}\u0000${warning.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(warning);
    }
  }
  return out;
}

import { useEffect, useRef, useState } from 'preact/hooks';
import { locate } from './rules.js';

/**
 * Form fields with a visible <label>, an optional hint and the API's error beside the field
 * (`aria-invalid`, `aria-describedby`), so a screen reader hears why the field was refused.
 */
function describedBy(id, hint, error) {
  return [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
}

/** A field's hint and error, with the ids its input's aria-describedby points at. */
function FieldNotes({ id, hint, error }) {
  return (
    <>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </>
  );
}

function FieldShell({ id, label, hint, error, children }) {
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

export function TextField({ id, label, hint, error, value, onInput, type = 'text', ...rest }) {
  return (
    <FieldShell id={id} label={label} hint={hint} error={error}>
      <input
        id={id}
        name={id}
        type={type}
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, hint, error)}
        {...rest}
      />
    </FieldShell>
  );
}

export function TextArea({ id, label, hint, error, value, onInput, rows = 3, ...rest }) {
  return (
    <FieldShell id={id} label={label} hint={hint} error={error}>
      <textarea
        id={id}
        name={id}
        rows={rows}
        value={value}
        onInput={onInput ? (e) => onInput(e.currentTarget.value) : undefined}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, hint, error)}
        {...rest}
      />
    </FieldShell>
  );
}

export function SelectField({ id, label, hint, error, value, onChange, options }) {
  return (
    <FieldShell id={id} label={label} hint={hint} error={error}>
      <select
        id={id}
        name={id}
        value={value}
        onChange={(e) => onChange(e.currentTarget.value)}
        aria-describedby={describedBy(id, hint, error)}
        aria-invalid={error ? 'true' : undefined}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldShell>
  );
}

export function FileField({ id, label, hint, error, onFiles, inputRef, multiple = true }) {
  return (
    <FieldShell id={id} label={label} hint={hint} error={error}>
      <input
        id={id}
        name={id}
        type="file"
        ref={inputRef}
        multiple={multiple}
        accept=".crt,.cer,.pem,.der,application/x-x509-ca-cert,application/pkix-cert,application/x-pem-file"
        onChange={(e) => onFiles([...e.currentTarget.files])}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, hint, error)}
      />
    </FieldShell>
  );
}

export function Checkbox({ id, label, checked, onChange, hint, error }) {
  return (
    <div class={`field checkbox${error ? ' has-error' : ''}`}>
      <input
        id={id}
        name={id}
        type="checkbox"
        checked={checked}
        onChange={(e) => onChange(e.currentTarget.checked)}
        aria-describedby={describedBy(id, hint, error)}
      />
      <label for={id}>{label}</label>
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

/**
 * A CEL expression's text area. `error` is the admin API's refusal: a string, or `{ message, source,
 * position }` for an expression that does not compile, shown with the failing line and a caret under
 * the range the API names (`source` is the text that was sent, so the caret fits it even after edits).
 */
export function ExpressionField({ id, label, hint, error, value, onInput, rows = 3, placeholder }) {
  const message = typeof error === 'string' ? error : error?.message;
  const where = error && typeof error === 'object' && error.position ? locate(error.source, error.position) : null;
  return (
    <div class={`field${message ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      <textarea
        id={id}
        name={id}
        rows={rows}
        spellcheck={false}
        autocapitalize="off"
        placeholder={placeholder}
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        aria-invalid={message ? 'true' : undefined}
        aria-describedby={describedBy(id, hint, message)}
      />
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {message && (
        <div class="field-error" id={`${id}-error`}>
          <p>{message}</p>
          {where && (
            <>
              <pre class="caret" aria-hidden="true">
                {`${where.text}\n${where.caret}`}
              </pre>
              <p class="position">
                At line {where.line}, column {where.column}.
              </p>
            </>
          )}
        </div>
      )}
    </div>
  );
}

/** Lint warnings of an answer: shown, announced politely, never as an error (the change was saved). */
export function Warnings({ warnings, label = 'Warnings' }) {
  if (!warnings || warnings.length === 0) return null;
  return (
    <div class="notice notice-warning" role="status">
      <p class="warnings-title">
        <strong>{label}</strong> (saved; worth a look)
      </p>
      <ul class="warnings">
        {warnings.map((w) => (
          <li key={`${w.code}:${w.rule ?? ''}:${w.message}`}>
            <code>{w.code}</code>
            {w.rule && (
              <>
                {' '}
                rule <strong>{w.rule}</strong>
              </>
            )}
            : {w.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * A delete confirmation, in place of a row's buttons; focus moves to it so a keyboard user lands on
 * the choice.
 */
export function ConfirmDelete({ name, question, onConfirm, onCancel }) {
  const ref = useRef(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div role="group" aria-label={`Confirm deleting ${name}`} class="confirm">
      <p>{question}</p>
      <button type="button" class="danger" ref={ref} onClick={onConfirm}>
        Confirm delete
      </button>
      <button type="button" class="secondary" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** A message for the whole page or form; `role="alert"` for errors so it is announced. */
export function Notice({ kind = 'info', children }) {
  if (!children) return null;
  return (
    <div class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** A read-only value with a copy button; falls back to selecting the text where the clipboard is refused. */
export function CopyField({ id, label, value, multiline = false }) {
  const [state, setState] = useState('');
  const ref = useRef(null);
  const copy = () => {
    const select = () => {
      ref.current?.focus();
      ref.current?.select();
    };
    if (!navigator.clipboard) {
      select();
      setState('Selected: press Ctrl+C (⌘C) to copy.');
      return;
    }
    navigator.clipboard.writeText(value).then(
      () => setState('Copied.'),
      () => {
        select();
        setState('Selected: press Ctrl+C (⌘C) to copy.');
      },
    );
  };
  const Input = multiline ? 'textarea' : 'input';
  return (
    <div class="field copy-field">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <Input id={id} ref={ref} readOnly value={value} rows={multiline ? 4 : undefined} spellcheck={false} />
        <button type="button" class="secondary" onClick={copy} aria-label={`Copy ${label}`}>
          Copy
        </button>
      </div>
      <p class="hint" aria-live="polite">
        {state}
      </p>
    </div>
  );
}

/**
 * Runs `load` now and whenever `deps` change; gives `{data, error, loading, reload}`. `reload()`
 * resolves once the new data is shown, so a "saved" message never sits beside the old data.
 */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [round, setRound] = useState(0);
  const waiting = useRef([]);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    const settle = (next) => {
      if (!live) return;
      setState(next);
      const done = waiting.current.splice(0);
      requestAnimationFrame(() => done.forEach((resolve) => resolve()));
    };
    load().then(
      (data) => settle({ data, error: null, loading: false }),
      (error) => settle({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  const reload = () =>
    new Promise((resolve) => {
      waiting.current.push(resolve);
      setRound((r) => r + 1);
    });
  return { ...state, reload };
}

export function formatTime(iso) {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

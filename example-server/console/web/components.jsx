import { useEffect, useRef, useState } from 'preact/hooks';

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

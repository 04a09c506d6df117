// Shared pieces: data loading, the error banner, the pager of long lists, table headers, the
// confirmation dialog
// of destructive actions, and the small SVG charts (no chart library: nothing to download).
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from './api.js';

/** Loads `path` (again when it or `version` changes); returns [data, error, reload]. */
export function useApi(path, version = 0) {
  const [state, setState] = useState({ data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    api(path).then(
      (data) => live && setState({ data, error: null }),
      (error) => live && setState({ data: null, error }),
    );
    return () => {
      live = false;
    };
  }, [path, version, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return [state.data, state.error, reload];
}

/**
 * An action the user starts (a form's submit, a confirmed button): `run(action)` clears the last
 * outcome, then keeps the message `action` resolves to (`done`, for Status) or what it throws
 * (`error`, for ErrorBanner).
 */
export function useAction() {
  const [error, setError] = useState(null);
  const [done, setDone] = useState('');
  const run = async (action) => {
    setError(null);
    setDone('');
    try {
      setDone(await action());
    } catch (err) {
      setError(err);
    }
  };
  return [run, error, done];
}

export function ErrorBanner({ error }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error.code ? <strong>{error.code}: </strong> : null}
      {error.message}
    </p>
  );
}

/**
 * A cluster-wide list whose fan-out missed brokers (the API's `unreachableBrokers`): says which,
 * and that what they hold is missing, so a partial list is never taken for the whole.
 */
export function UnreachableBrokers({ brokers, what }) {
  if (!brokers || brokers.length === 0) return null;
  const names = brokers.join(', ');
  return (
    <p className="unreachable" role="alert">
      <strong>{brokers.length === 1 ? `Broker ${names} did not answer` : `Brokers ${names} did not answer`}</strong>: this page is missing {what}.
    </p>
  );
}

export function Status({ message }) {
  return message ? (
    <p className="ok" role="status">
      {message}
    </p>
  ) : null;
}

/** A search field (a labelled input of type search); `onChange` gets the text. */
export function SearchBox({ label, value, onChange }) {
  return (
    <label className="inline">
      {label} <input type="search" value={value} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

/** Previous/next over an offset-paginated API list. */
export function Pager({ total, offset, limit, onChange, label }) {
  if (total <= limit && offset === 0) return <p className="muted">{total} {label}</p>;
  const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={() => onChange(0)} disabled={offset === 0}>
        First
      </button>
      <button type="button" onClick={() => onChange(Math.max(0, offset - limit))} disabled={offset === 0}>
        Previous
      </button>
      <span aria-live="polite">
        {offset + 1}–{Math.min(total, offset + limit)} of {total} {label}
      </span>
      <button type="button" onClick={() => onChange(offset + limit)} disabled={offset + limit >= total}>
        Next
      </button>
      <button type="button" onClick={() => onChange(last)} disabled={offset >= last}>
        Last
      </button>
    </nav>
  );
}

/** A table's header row: one column header (scope="col", for screen readers) per name. */
export function TableHead({ columns }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/**
 * A button that asks before doing something destructive: a modal <dialog> (focus moves into it,
 * Escape cancels) naming what will happen.
 */
export function ConfirmButton({ label, title, children, confirmLabel, onConfirm, className = 'danger' }) {
  const ref = useRef(null);
  const [busy, setBusy] = useState(false);
  return (
    <>
      <button type="button" className={className} onClick={() => ref.current.showModal()}>
        {label}
      </button>
      <dialog ref={ref} aria-labelledby={`${title}-title`.replace(/\W+/g, '-')}>
        <form
          method="dialog"
          onSubmit={async (e) => {
            const confirmed = e.nativeEvent.submitter?.value === 'yes';
            if (!confirmed) return;
            e.preventDefault();
            setBusy(true);
            try {
              await onConfirm();
            } finally {
              setBusy(false);
              ref.current?.close();
            }
          }}
        >
          <h2 id={`${title}-title`.replace(/\W+/g, '-')}>{title}</h2>
          <div>{children}</div>
          <div className="actions">
            <button type="submit" value="no" autoFocus>
              Cancel
            </button>
            <button type="submit" value="yes" className="danger" disabled={busy}>
              {confirmLabel ?? label}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** A line chart of several series over time (throughput). */
export function LineChart({ samples, series, height = 160, label }) {
  const width = 600;
  const max = Math.max(1, ...samples.flatMap((s) => series.map((x) => s[x.key] ?? 0)));
  const n = Math.max(2, samples.length);
  const x = (i) => (i / (n - 1)) * (width - 50) + 45;
  const y = (v) => height - 20 - (v / max) * (height - 30);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
        <line x1="45" y1={height - 20} x2={width - 5} y2={height - 20} className="axis" />
        <text x="40" y="14" textAnchor="end" className="tick">
          {fmtShort(max)}
        </text>
        <text x="40" y={height - 20} textAnchor="end" className="tick">
          0
        </text>
        {series.map((s) => (
          <polyline key={s.key} fill="none" stroke={s.color} strokeWidth="2" points={samples.map((p, i) => `${x(i)},${y(p[s.key] ?? 0)}`).join(' ')} />
        ))}
      </svg>
      <figcaption>
        {series.map((s) => (
          <span key={s.key} className="legend">
            <span className="swatch" style={{ background: s.color }} /> {s.label}: {fmtShort(samples.at(-1)?.[s.key] ?? 0)}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** Horizontal bars, one per item (lag per partition). */
export function BarChart({ items, label }) {
  const max = Math.max(1, ...items.map((i) => i.value));
  const shown = items.slice(0, 50);
  const row = 18;
  const height = shown.length * row + 4;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 600 ${height}`} role="img" aria-label={label}>
        {shown.map((it, i) => (
          <g key={it.label}>
            <text x="150" y={i * row + 13} textAnchor="end" className="tick">
              {it.label}
            </text>
            <rect x="155" y={i * row + 3} height={row - 6} width={Math.max(it.value > 0 ? 2 : 0, (it.value / max) * 380)} className="bar" />
            <text x={160 + (it.value / max) * 380} y={i * row + 13} className="tick">
              {it.value.toLocaleString('en-US')}
            </text>
          </g>
        ))}
      </svg>
      {items.length > shown.length ? <figcaption>The 50 partitions with the most lag of {items.length}.</figcaption> : null}
    </figure>
  );
}

function fmtShort(v) {
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v));
}

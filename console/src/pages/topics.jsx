import { useState } from 'react';
import { api, enc, fmtBytes, fmtNum, fmtTime, show } from '../api.js';
import { ConfirmButton, ErrorBanner, Pager, SearchBox, Status, TableHead, useAction, useApi } from '../components.jsx';

const PAGE = 100;

export function Topics() {
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const [version, setVersion] = useState(0);
  const [data, error] = useApi(`topics?search=${enc(search)}&offset=${offset}&limit=${PAGE}`, version);
  return (
    <>
      <h1 tabIndex={-1}>Topics</h1>
      <CreateTopic onCreated={() => setVersion((v) => v + 1)} />
      <h2>All topics</h2>
      <SearchBox
        label="Search topics"
        value={search}
        onChange={(text) => {
          setSearch(text);
          setOffset(0);
        }}
      />
      <ErrorBanner error={error} />
      {data ? (
        <>
          <Pager total={data.total} offset={data.offset} limit={data.limit} onChange={setOffset} label="topics" />
          <table>
            <TableHead columns={['Name', 'Partitions', 'Replication', 'Under-replicated']} />
            <tbody>
              {data.topics.map((t) => (
                <tr key={t.name}>
                  <td>
                    <a href={`#/topics/${enc(t.name)}`}>{t.name}</a>
                    {t.internal ? <span className="tag">internal</span> : null}
                  </td>
                  <td>{fmtNum(t.partitions)}</td>
                  <td>{t.replicationFactor}</td>
                  <td className={t.underReplicatedPartitions > 0 ? 'warn' : ''}>{t.underReplicatedPartitions}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </>
  );
}

/** `name=value` lines into an object. */
function parseConfigs(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`not name=value: ${t}`);
    out[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
  }
  return out;
}

function CreateTopic({ onCreated }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [replication, setReplication] = useState('');
  const [configs, setConfigs] = useState('');
  const [run, error, done] = useAction();
  return (
    <section aria-labelledby="create-topic">
      <h2 id="create-topic">Create a topic</h2>
      <form
        className="grid"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const res = await api('topics', { method: 'POST', body: { name, partitions: Number(partitions), replicationFactor: replication === '' ? undefined : Number(replication), configs: parseConfigs(configs) } });
            setName('');
            onCreated();
            return `Created topic ${res.name} with ${res.partitions} partitions.`;
          });
        }}
      >
        <label>
          Name <input required value={name} onChange={(e) => setName(e.target.value)} pattern="[a-zA-Z0-9._\-]+" />
        </label>
        <label>
          Partitions <input type="number" min="1" required value={partitions} onChange={(e) => setPartitions(e.target.value)} />
        </label>
        <label>
          Replication factor <input type="number" min="1" placeholder="broker default" value={replication} onChange={(e) => setReplication(e.target.value)} />
        </label>
        <label className="wide">
          Configs (one name=value a line)
          <textarea rows="3" value={configs} onChange={(e) => setConfigs(e.target.value)} placeholder={'retention.ms=86400000\ncleanup.policy=compact'} />
        </label>
        <div>
          <button type="submit">Create topic</button>
        </div>
      </form>
      <ErrorBanner error={error} />
      <Status message={done} />
    </section>
  );
}

const TABS = [
  ['partitions', 'Partitions'],
  ['messages', 'Messages'],
  ['produce', 'Produce'],
  ['configs', 'Configs'],
];

export function TopicDetail({ name, tab, params }) {
  const [deleted, setDeleted] = useState(false);
  const [error, setError] = useState(null);
  if (deleted) {
    return (
      <>
        <h1 tabIndex={-1}>Topic {name}</h1>
        <Status message={`Topic ${name} deleted.`} />
        <a href="#/topics">Back to topics</a>
      </>
    );
  }
  return (
    <>
      <h1 tabIndex={-1}>Topic {name}</h1>
      <nav aria-label="Topic views" className="tabs">
        {TABS.map(([id, label]) => (
          <a key={id} href={`#/topics/${enc(name)}/${id}`} aria-current={tab === id ? 'page' : undefined}>
            {label}
          </a>
        ))}
        <ConfirmButton
          label="Delete topic"
          title={`Delete topic ${name}?`}
          onConfirm={async () => {
            try {
              await api(`topics/${enc(name)}`, { method: 'DELETE' });
              setDeleted(true);
            } catch (err) {
              setError(err);
            }
          }}
        >
          <p>
            This deletes topic <strong>{name}</strong> and all its messages. It cannot be undone.
          </p>
        </ConfirmButton>
      </nav>
      <ErrorBanner error={error} />
      {tab === 'messages' ? <Messages topic={name} params={params} /> : tab === 'produce' ? <Produce topic={name} /> : tab === 'configs' ? <TopicConfigs topic={name} /> : <Partitions topic={name} />}
    </>
  );
}

function Partitions({ topic }) {
  const [offset, setOffset] = useState(0);
  const [data, error] = useApi(`topics/${enc(topic)}?offset=${offset}&limit=${PAGE}`);
  return (
    <section aria-label="Partitions">
      <ErrorBanner error={error} />
      {data ? (
        <>
          <p>
            Topic id <code>{data.topicId}</code>, {fmtNum(data.total)} partitions, {data.underReplicatedPartitions} under-replicated.
          </p>
          <Pager total={data.total} offset={data.offset} limit={data.limit} onChange={setOffset} label="partitions" />
          <table>
            <TableHead columns={['Partition', 'Leader', 'Replicas', 'ISR', 'Start offset', 'High watermark', 'Size']} />
            <tbody>
              {data.partitions.map((p) => (
                <tr key={p.partition}>
                  <td>
                    <a href={`#/topics/${enc(topic)}/messages?partition=${p.partition}`}>{p.partition}</a>
                  </td>
                  <td className={p.leader < 0 ? 'warn' : ''}>{p.leader < 0 ? 'none' : p.leader}</td>
                  <td>{p.replicas.join(', ')}</td>
                  <td className={p.isr.length < p.replicas.length ? 'warn' : ''}>{p.isr.join(', ')}</td>
                  <td>{fmtNum(p.logStartOffset)}</td>
                  <td>{fmtNum(p.highWatermark)}</td>
                  <td>{fmtBytes(p.sizeBytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

function Messages({ topic, params }) {
  const [form, setForm] = useState({ partition: params.get('partition') ?? '0', mode: 'latest', offset: '0', timestamp: '', filter: '', limit: '50' });
  const [format, setFormat] = useState('text');
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  const load = async (from) => {
    setError(null);
    const q = new URLSearchParams({ partition: form.partition, limit: form.limit, filter: form.filter });
    if (from !== undefined) q.set('offset', String(from));
    else if (form.mode === 'offset') q.set('offset', form.offset);
    else if (form.mode === 'earliest') q.set('offset', 'earliest');
    else if (form.mode === 'timestamp') q.set('timestamp', String(new Date(form.timestamp).getTime()));
    try {
      setResult(await api(`topics/${enc(topic)}/messages?${q}`));
    } catch (err) {
      setError(err);
      setResult(null);
    }
  };
  return (
    <section aria-label="Message browser">
      <form
        className="grid"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <label>
          Partition <input type="number" min="0" value={form.partition} onChange={set('partition')} />
        </label>
        <label>
          Start at
          <select value={form.mode} onChange={set('mode')}>
            <option value="latest">the newest messages</option>
            <option value="earliest">the earliest offset</option>
            <option value="offset">an offset</option>
            <option value="timestamp">a time</option>
          </select>
        </label>
        {form.mode === 'offset' ? (
          <label>
            Offset <input type="number" min="0" value={form.offset} onChange={set('offset')} />
          </label>
        ) : null}
        {form.mode === 'timestamp' ? (
          <label>
            Time <input type="datetime-local" step="1" value={form.timestamp} onChange={set('timestamp')} required />
          </label>
        ) : null}
        <label>
          Filter (key or value contains) <input type="search" value={form.filter} onChange={set('filter')} />
        </label>
        <label>
          Max messages <input type="number" min="1" max="500" value={form.limit} onChange={set('limit')} />
        </label>
        <label>
          Show as
          <select value={format} onChange={(e) => setFormat(e.target.value)}>
            <option value="text">text</option>
            <option value="json">JSON</option>
            <option value="hex">hex</option>
          </select>
        </label>
        <div>
          <button type="submit">Find messages</button>
        </div>
      </form>
      <ErrorBanner error={error} />
      {result ? (
        <>
          <p aria-live="polite">
            {result.messages.length} messages from offset {fmtNum(result.startOffset)} (partition offsets {fmtNum(result.earliestOffset)}–{fmtNum(result.latestOffset)}, {fmtNum(result.scanned)} read).{' '}
            {result.nextOffset < result.latestOffset ? (
              <button type="button" onClick={() => void load(result.nextOffset)}>
                Next from offset {fmtNum(result.nextOffset)}
              </button>
            ) : null}
          </p>
          <table className="messages">
            <TableHead columns={['Offset', 'Timestamp', 'Key', 'Value', 'Headers']} />
            <tbody>
              {result.messages.map((m) => (
                <tr key={m.offset}>
                  <td>{m.offset}</td>
                  <td>{fmtTime(m.timestamp)}</td>
                  <td>
                    <pre>{show(m.key, format)}</pre>
                  </td>
                  <td>
                    <pre>{show(m.value, format)}</pre>
                  </td>
                  <td>
                    {m.headers.map((h, i) => (
                      <div key={i}>
                        <code>{h.key}</code>: <code>{show(h.value, format === 'json' ? 'text' : format)}</code>
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

function Produce({ topic }) {
  const [form, setForm] = useState({ partition: '0', key: '', value: '', headers: '' });
  const [run, error, done] = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  return (
    <section aria-label="Produce a message">
      <form
        className="grid"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const headers = form.headers
              .split('\n')
              .filter((l) => l.trim() !== '')
              .map((l) => {
                const eq = l.indexOf('=');
                return eq < 0 ? { key: l.trim(), value: null } : { key: l.slice(0, eq).trim(), value: l.slice(eq + 1) };
              });
            const res = await api(`topics/${enc(topic)}/messages`, { method: 'POST', body: { partition: Number(form.partition), key: form.key === '' ? null : form.key, value: form.value, headers } });
            return `Produced to partition ${res.partition} at offset ${res.offset}.`;
          });
        }}
      >
        <label>
          Partition <input type="number" min="0" value={form.partition} onChange={set('partition')} />
        </label>
        <label>
          Key (empty for none) <input value={form.key} onChange={set('key')} />
        </label>
        <label className="wide">
          Value <textarea rows="5" value={form.value} onChange={set('value')} />
        </label>
        <label className="wide">
          Headers (one name=value a line) <textarea rows="2" value={form.headers} onChange={set('headers')} />
        </label>
        <div>
          <button type="submit">Produce message</button>
        </div>
      </form>
      <ErrorBanner error={error} />
      <Status message={done} />
    </section>
  );
}

export function ConfigTable({ configs, search, setSearch }) {
  return (
    <>
      <SearchBox label="Search configs" value={search} onChange={setSearch} />
      <table>
        <TableHead columns={['Name', 'Value', 'Source']} />
        <tbody>
          {configs.map((c) => (
            <tr key={c.name} title={c.documentation ?? ''}>
              <td>
                <code>{c.name}</code>
              </td>
              <td>{c.sensitive ? '(sensitive)' : (c.value ?? '–')}</td>
              <td className={c.source.startsWith('DYNAMIC') ? 'strong' : 'muted'}>{c.source}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function TopicConfigs({ topic }) {
  const [search, setSearch] = useState('');
  const [version, setVersion] = useState(0);
  const [data, error] = useApi(`configs/topic/${enc(topic)}?search=${enc(search)}`, version);
  const [edit, setEdit] = useState({ name: '', value: '' });
  const [run, editError, done] = useAction();
  return (
    <section aria-label="Topic configs">
      <form
        className="grid"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await api(`configs/topic/${enc(topic)}`, { method: 'POST', body: edit.value === '' ? { delete: [edit.name] } : { set: { [edit.name]: edit.value } } });
            setVersion((v) => v + 1);
            return edit.value === '' ? `Removed the override of ${edit.name}.` : `Set ${edit.name}=${edit.value}.`;
          });
        }}
      >
        <label>
          Config name <input required value={edit.name} onChange={(e) => setEdit({ ...edit, name: e.target.value })} />
        </label>
        <label>
          Value (empty to remove the override) <input value={edit.value} onChange={(e) => setEdit({ ...edit, value: e.target.value })} />
        </label>
        <div>
          <button type="submit">Change config</button>
        </div>
      </form>
      <ErrorBanner error={editError} />
      <Status message={done} />
      <ErrorBanner error={error} />
      {data ? <ConfigTable configs={data.configs} search={search} setSearch={setSearch} /> : null}
    </section>
  );
}

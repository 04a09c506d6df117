import { useState } from 'react';
import { api, enc, fmtNum } from '../api.js';
import { BarChart, ConfirmButton, ErrorBanner, Pager, SearchBox, Status, TableHead, UnreachableBrokers, useAction, useApi } from '../components.jsx';

export function Groups() {
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const [data, error] = useApi(`groups?search=${enc(search)}&offset=${offset}&limit=100`);
  return (
    <>
      <h1 tabIndex={-1}>Consumer groups</h1>
      <SearchBox
        label="Search groups"
        value={search}
        onChange={(text) => {
          setSearch(text);
          setOffset(0);
        }}
      />
      <ErrorBanner error={error} />
      {data ? (
        <>
          <UnreachableBrokers brokers={data.unreachableBrokers} what="the groups coordinated there" />
          <Pager total={data.total} offset={data.offset} limit={data.limit} onChange={setOffset} label="groups" />
          <table>
            <TableHead columns={['Group', 'State', 'Protocol', 'Members', 'Total lag']} />
            <tbody>
              {data.groups.map((g) => (
                <tr key={g.groupId}>
                  <td>
                    <a href={`#/groups/${enc(g.groupId)}`}>{g.groupId}</a>
                  </td>
                  <td>{g.state}</td>
                  <td>{g.protocolType || '–'}</td>
                  <td>{g.members ?? '–'}</td>
                  <td className={g.totalLag > 0 ? 'strong' : ''}>{fmtNum(g.totalLag)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </>
  );
}

export function GroupDetail({ id }) {
  const [version, setVersion] = useState(0);
  const [data, error] = useApi(`groups/${enc(id)}`, version);
  return (
    <>
      <h1 tabIndex={-1}>Consumer group {id}</h1>
      <ErrorBanner error={error} />
      {data ? (
        <>
          <dl className="stats">
            <div>
              <dt>State</dt>
              <dd>{data.state}</dd>
            </div>
            <div>
              <dt>Members</dt>
              <dd>{data.members.length}</dd>
            </div>
            <div>
              <dt>Total lag</dt>
              <dd data-testid="total-lag">{fmtNum(data.totalLag)}</dd>
            </div>
            <div>
              <dt>Coordinator</dt>
              <dd>broker {data.coordinator}</dd>
            </div>
          </dl>
          <button type="button" onClick={() => setVersion((v) => v + 1)}>
            Refresh
          </button>
          <h2>Members</h2>
          {data.members.length === 0 ? (
            <p className="muted">No active members.</p>
          ) : (
            <table>
              <TableHead columns={['Member', 'Client id', 'Host', 'Assignment']} />
              <tbody>
                {data.members.map((m) => (
                  <tr key={m.memberId}>
                    <td>
                      <code>{m.memberId}</code>
                    </td>
                    <td>{m.clientId}</td>
                    <td>{m.clientHost}</td>
                    <td>{m.assignment.map((a) => `${a.topic}: ${a.partitions.join(', ')}`).join('; ') || '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Lag per partition</h2>
          <BarChart
            label={`Lag per partition of group ${id}`}
            items={[...data.partitions].sort((a, b) => b.lag - a.lag).map((p) => ({ label: `${p.topic}-${p.partition}`, value: p.lag }))}
          />
          <table>
            <TableHead columns={['Topic', 'Partition', 'Committed offset', 'End offset', 'Lag']} />
            <tbody>
              {data.partitions.map((p) => (
                <tr key={`${p.topic}-${p.partition}`}>
                  <td>{p.topic}</td>
                  <td>{p.partition}</td>
                  <td>{fmtNum(p.committedOffset)}</td>
                  <td>{fmtNum(p.endOffset)}</td>
                  <td>{fmtNum(p.lag)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <ResetOffsets group={id} topics={[...new Set(data.partitions.map((p) => p.topic))]} onDone={() => setVersion((v) => v + 1)} />
        </>
      ) : null}
    </>
  );
}

function ResetOffsets({ group, topics, onDone }) {
  const [form, setForm] = useState({ topic: topics[0] ?? '', to: 'earliest', offset: '0', timestamp: '', partitions: '' });
  const [run, error, done] = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  const target = form.to === 'offset' ? `offset ${form.offset}` : form.to === 'timestamp' ? `the first offset at ${form.timestamp}` : `the ${form.to} offset`;
  return (
    <section aria-labelledby="reset-offsets">
      <h2 id="reset-offsets">Reset offsets</h2>
      <p className="muted">Kafka allows this only while the group has no active members.</p>
      <div className="grid form-like" role="group" aria-labelledby="reset-offsets">
        <label>
          Topic <input list="group-topics" required value={form.topic} onChange={set('topic')} />
          <datalist id="group-topics">
            {topics.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </label>
        <label>
          Partitions (comma separated, empty for all) <input value={form.partitions} onChange={set('partitions')} />
        </label>
        <label>
          Reset to
          <select value={form.to} onChange={set('to')}>
            <option value="earliest">earliest</option>
            <option value="latest">latest</option>
            <option value="offset">an offset</option>
            <option value="timestamp">a time</option>
          </select>
        </label>
        {form.to === 'offset' ? (
          <label>
            Offset <input type="number" min="0" value={form.offset} onChange={set('offset')} />
          </label>
        ) : null}
        {form.to === 'timestamp' ? (
          <label>
            Time <input type="datetime-local" step="1" value={form.timestamp} onChange={set('timestamp')} />
          </label>
        ) : null}
        <div>
          <ConfirmButton
            label="Reset offsets"
            title={`Reset offsets of group ${group}?`}
            onConfirm={() =>
              run(async () => {
                const partitions = form.partitions
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean)
                  .map(Number);
                const res = await api(`groups/${enc(group)}/offsets/reset`, {
                  method: 'POST',
                  body: {
                    topic: form.topic,
                    partitions,
                    to: form.to,
                    offset: Number(form.offset),
                    timestamp: form.timestamp ? new Date(form.timestamp).getTime() : undefined,
                  },
                });
                onDone();
                return `Reset: ${res.offsets.map((o) => `${res.topic}-${o.partition} → ${o.offset}`).join(', ')}`;
              })
            }
          >
            <p>
              The committed offsets of group <strong>{group}</strong> on topic <strong>{form.topic}</strong> ({form.partitions || 'all partitions'}) move to {target}. Its
              consumers then read from there.
            </p>
          </ConfirmButton>
        </div>
      </div>
      <ErrorBanner error={error} />
      <Status message={done} />
    </section>
  );
}

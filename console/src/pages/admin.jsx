import { useState } from 'react';
import { api, enc, fmtTime } from '../api.js';
import { ConfirmButton, ErrorBanner, Pager, Status, TableHead, UnreachableBrokers, useApi } from '../components.jsx';
import { ConfigTable } from './topics.jsx';

export function Transactions() {
  const [offset, setOffset] = useState(0);
  const [onlyOpen, setOnlyOpen] = useState(false);
  const [data, error, reload] = useApi(`transactions?offset=${offset}&limit=100${onlyOpen ? '&state=Ongoing' : ''}`);
  const hanging = data ? data.transactions.filter((t) => t.hanging) : [];
  return (
    <>
      <h1 tabIndex={-1}>Transactions</h1>
      <label className="inline">
        <input type="checkbox" checked={onlyOpen} onChange={(e) => setOnlyOpen(e.target.checked)} /> Ongoing only
      </label>{' '}
      <button type="button" onClick={reload}>
        Refresh
      </button>
      <ErrorBanner error={error} />
      {data ? (
        <>
          <UnreachableBrokers brokers={data.unreachableBrokers} what="the transactions coordinated there" />
          <p className={hanging.length ? 'warn' : 'muted'}>
            {hanging.length} hanging (open longer than their timeout){hanging.length ? `: ${hanging.map((t) => t.transactionalId).join(', ')}` : ''}.
          </p>
          <Pager total={data.total} offset={data.offset} limit={data.limit} onChange={setOffset} label="transactional ids" />
          <table>
            <TableHead columns={['Transactional id', 'State', 'Producer id / epoch', 'Started', 'Open for', 'Timeout', 'Partitions']} />
            <tbody>
              {data.transactions.map((t) => (
                <tr key={t.transactionalId} className={t.hanging ? 'warn' : ''}>
                  <td>
                    {t.transactionalId}
                    {t.hanging ? <span className="tag">hanging</span> : null}
                  </td>
                  <td>{t.state}</td>
                  <td>
                    {t.producerId} / {t.producerEpoch}
                  </td>
                  <td>{fmtTime(t.startTimeMs)}</td>
                  <td>{t.durationMs === null ? '–' : `${Math.round(t.durationMs / 1000)} s`}</td>
                  <td>{Math.round(t.timeoutMs / 1000)} s</td>
                  <td>{t.partitions.map((p) => `${p.topic}-${p.partition}`).join(', ') || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      <OpenPartitions />
    </>
  );
}

function OpenPartitions() {
  const [offset, setOffset] = useState(0);
  const [onlyHanging, setOnlyHanging] = useState(false);
  const [data, error] = useApi(`transactions/partitions?offset=${offset}&limit=100${onlyHanging ? '&hanging=true' : ''}`);
  return (
    <section aria-labelledby="open-partitions">
      <h2 id="open-partitions">Open transactions in the partitions</h2>
      <p className="muted">What kafka-transactions find-hanging looks at: a partition whose producer still has a transaction open, as its leader sees it.</p>
      <label className="inline">
        <input type="checkbox" checked={onlyHanging} onChange={(e) => setOnlyHanging(e.target.checked)} /> Hanging only
      </label>
      <ErrorBanner error={error} />
      {data ? (
        <>
          <UnreachableBrokers brokers={data.unreachableBrokers} what="the open transactions of partitions led there" />
          <p className={data.hanging ? 'warn' : 'muted'}>{data.hanging} hanging.</p>
          <Pager total={data.total} offset={data.offset} limit={data.limit} onChange={setOffset} label="open partitions" />
          <table>
            <TableHead columns={['Partition', 'Leader', 'Producer id / epoch', 'Transactional id', 'First offset', 'Open for', 'Hanging']} />
            <tbody>
              {data.partitions.map((o) => (
                <tr key={`${o.topic}-${o.partition}-${o.producerId}`} className={o.hanging ? 'warn' : ''}>
                  <td>
                    {o.topic}-{o.partition}
                  </td>
                  <td>{o.leader}</td>
                  <td>
                    {o.producerId} / {o.producerEpoch}
                  </td>
                  <td>{o.transactionalId ?? '–'}</td>
                  <td>{o.startOffset}</td>
                  <td>{Math.round(o.openForMs / 1000)} s</td>
                  <td>{o.hanging ? `yes: ${o.reason}` : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

const QUOTA_KEYS = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate', 'connection_creation_rate'];
const ENTITY_TYPES = [
  ['user', 'User'],
  ['client-id', 'Client id'],
  ['ip', 'IP address'],
];

const entityText = (entity) =>
  Object.entries(entity)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/** Client quotas: the list (DescribeClientQuotas), set one (AlterClientQuotas), remove one (asks first). */
export function Quotas() {
  const [data, error, reload] = useApi('quotas');
  const [actionError, setActionError] = useState(null);
  const [done, setDone] = useState('');
  const remove = async (entity, key) => {
    setActionError(null);
    setDone('');
    try {
      await api('quotas', { method: 'POST', body: { entity, delete: [key] } });
      setDone(`Removed ${key} of ${entityText(entity)}.`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return (
    <>
      <h1 tabIndex={-1}>Client quotas</h1>
      <ErrorBanner error={error} />
      <ErrorBanner error={actionError} />
      <Status message={done} />
      {data ? (
        data.quotas.length === 0 ? (
          <p className="muted">No client quotas are set.</p>
        ) : (
          <table>
            <TableHead columns={['Entity', 'Quota', 'Value', 'Action']} />
            <tbody>
              {data.quotas.flatMap((q) =>
                Object.entries(q.values).map(([k, v]) => (
                  <tr key={`${entityText(q.entity)}-${k}`}>
                    <td>{entityText(q.entity)}</td>
                    <td>{k}</td>
                    <td>{v}</td>
                    <td>
                      <ConfirmButton label="Remove" title={`Remove ${k} of ${entityText(q.entity)}`} onConfirm={() => remove(q.entity, k)}>
                        <p>
                          Clients matching {entityText(q.entity)} lose this {k} limit.
                        </p>
                      </ConfirmButton>
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        )
      ) : null}
      <SetQuota
        onSet={(message) => {
          setDone(message);
          reload();
        }}
      />
    </>
  );
}

function SetQuota({ onSet }) {
  const [type, setType] = useState('user');
  const [name, setName] = useState('');
  const [key, setKey] = useState(QUOTA_KEYS[0]);
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  return (
    <section aria-labelledby="set-quota">
      <h2 id="set-quota">Set a quota</h2>
      <p className="muted">As kafka-configs --alter --entity-type users|clients|ips --add-config does. An empty name is the default entity.</p>
      <form
        className="grid"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          const entity = { [type]: name === '' ? null : name };
          try {
            await api('quotas', { method: 'POST', body: { entity, set: { [key]: Number(value) } } });
            onSet(`Set ${key}=${value} for ${type}=${name === '' ? '<default>' : name}.`);
            setValue('');
          } catch (err) {
            setError(err);
          }
        }}
      >
        <label>
          Entity type
          <select value={type} onChange={(e) => setType(e.target.value)}>
            {ENTITY_TYPES.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="<default>" />
        </label>
        <label>
          Quota
          <select value={key} onChange={(e) => setKey(e.target.value)}>
            {QUOTA_KEYS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          Value <input type="number" min="0" step="any" required value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <div>
          <button type="submit">Set quota</button>
        </div>
      </form>
      <ErrorBanner error={error} />
    </section>
  );
}

export function BrokerConfigs() {
  const [cluster] = useApi('cluster');
  const [search, setSearch] = useState('');
  const [picked, setPicked] = useState(null);
  const nodeId = picked ?? cluster?.nodeId;
  const [data, error] = useApi(cluster ? `configs/broker/${nodeId}?search=${enc(search)}` : null);
  return (
    <>
      <h1 tabIndex={-1}>Broker configs{cluster ? ` (broker ${nodeId})` : ''}</h1>
      {cluster && cluster.brokers.length > 1 ? (
        <label className="inline">
          Broker{' '}
          <select value={nodeId} onChange={(e) => setPicked(Number(e.target.value))}>
            {cluster.brokers.map((b) => (
              <option key={b.nodeId} value={b.nodeId}>
                {b.nodeId} ({b.host}:{b.port}){b.nodeId === cluster.nodeId ? ', this one' : ''}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      <ErrorBanner error={error} />
      {data ? <ConfigTable configs={data.configs} search={search} setSearch={setSearch} /> : null}
    </>
  );
}

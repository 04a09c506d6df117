// Kafka's JAAS configuration values (sasl.jaas.config): `<LoginModule> <flag> key="value" key=value ... ;`.
// Shared by the client (a client properties file's credentials) and the broker (its users).

export interface JaasEntry {
  loginModule: string;
  flag: string;
  options: Map<string, string>;
}

/** Parses one login-module entry; throws an Error saying what is wrong (prefixed by `where`). */
export function parseJaasEntry(text: string, where: string): JaasEntry {
  let i = 0;
  const s = text.trim();
  const skip = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const word = (): string => {
    skip();
    const start = i;
    while (i < s.length && !/[\s=;"]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const loginModule = word();
  const flag = word();
  if (loginModule === '' || !['required', 'requisite', 'sufficient', 'optional'].includes(flag)) {
    throw new Error(`${where}: expected "<LoginModule> required key=\\"value\\" ...;"`);
  }
  const options = new Map<string, string>();
  for (;;) {
    skip();
    if (i >= s.length || s[i] === ';') break;
    const key = word();
    skip();
    if (key === '' || s[i] !== '=') throw new Error(`${where}: expected key=value at offset ${i}`);
    i++;
    skip();
    let value: string;
    if (s[i] === '"') {
      i++;
      let out = '';
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        out += s[i];
        i++;
      }
      if (i >= s.length) throw new Error(`${where}: unterminated quoted value of ${key}`);
      i++;
      value = out;
    } else {
      value = word();
    }
    options.set(key, value);
  }
  return { loginModule, flag, options };
}

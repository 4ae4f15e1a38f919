// What --flavor decides: the image layout (paths, binary, user, env names). Behaviour that differs between
// Vault and OpenBao keys off what the server itself reports (see ServerIdentity), not off this.

export type Flavor = 'vault' | 'openbao';

export interface Layout {
  flavor: Flavor;
  home: string; // /vault or /openbao
  binary: string;
  user: string;
  uid: number;
  gid: number;
  envPrefix: 'VAULT' | 'BAO';
  defaultImage: string;
  defaultName: string;
}

export const CURRENT_OPENBAO = '2.7.2';

export const LAYOUTS: Record<Flavor, Layout> = {
  vault: {
    flavor: 'vault',
    home: '/vault',
    binary: 'vault',
    user: 'vault',
    uid: 100,
    gid: 1000,
    envPrefix: 'VAULT',
    defaultImage: 'hashicorp/vault:1.21',
    defaultName: 'vault',
  },
  openbao: {
    flavor: 'openbao',
    home: '/openbao',
    binary: 'bao',
    user: 'openbao',
    uid: 100,
    gid: 1000,
    envPrefix: 'BAO',
    defaultImage: `openbao/openbao:${CURRENT_OPENBAO}`,
    defaultName: 'openbao',
  },
};

/**
 * The layout with the server run as another uid:gid than the image's own (100:1000; on Debian and Ubuntu uid 100
 * is a system account): `init --server-user`, written to the compose file as `user:` and read back from it.
 */
export function withServerUser(layout: Layout, user: string | undefined): Layout {
  if (user === undefined) return layout;
  const ids = parseServerUser(user);
  if (ids === undefined) throw new RangeError(`"${user}" is not UID:GID (two numbers)`);
  return { ...layout, ...ids };
}

/** "UID:GID" as two numbers; undefined for anything else (a compose `user:` may also name a user). */
export function parseServerUser(text: string): { uid: number; gid: number } | undefined {
  const m = /^(\d{1,10}):(\d{1,10})$/.exec(text.trim());
  return m === null ? undefined : { uid: Number(m[1]), gid: Number(m[2]) };
}

/** True when the server runs as the image's own user (no `user:` in the compose file). */
export const imageUser = (layout: Layout): boolean => {
  const own = LAYOUTS[layout.flavor];
  return layout.uid === own.uid && layout.gid === own.gid;
};

export const isFlavor = (value: string): value is Flavor => value === 'vault' || value === 'openbao';

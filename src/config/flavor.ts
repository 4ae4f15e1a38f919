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

export const isFlavor = (value: string): value is Flavor => value === 'vault' || value === 'openbao';

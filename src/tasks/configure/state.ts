// What configure's task list records as it writes: the summary and the --json result are built from it.
import type { StepRecord } from '../listr.ts';
import type { SecretStatus } from './plan.ts';

export interface ConfigureState {
  steps: StepRecord[];
  audit?: { status: 'created' | 'kept'; device: string; filePath: string; via: 'api' | 'config' };
  kv?: 'created' | 'kept';
  secrets: { path: string; status: SecretStatus; fields: string[]; version: number }[];
  policy?: 'created' | 'kept' | 'updated';
  appToken?: { status: 'created' | 'kept'; accessor: string; ttl: number; expireTime?: string | undefined; wrapAccessor?: string };
}

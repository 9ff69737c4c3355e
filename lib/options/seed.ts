import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { z } from 'zod';

import { parseApi, type Api } from '../apis/apis.js';
import { parseApplication, type ParsedApplication } from '../apps/applications.js';
import type { Organization, SeedUser } from '../accounts/directory.js';
import { ApiError, ApplicationError, SeedError } from '../errors.js';
import { parsePasswordHash } from '../accounts/passwords.js';

const organizationSchema = z.object({ id: z.string().min(1), name: z.string().min(1) }).strict();

const userSchema = z
  .object({
    id: z.string().min(1),
    email: z.string().email(),
    email_verified: z.boolean().optional(),
    password: z.string().min(1).optional(),
    password_hash: z.string().optional(),
    name: z.string().optional(),
    given_name: z.string().optional(),
    family_name: z.string().optional(),
    picture: z.string().url().optional(),
    organizations: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .superRefine((user, ctx) => {
    if (user.password_hash === undefined) return;
    if (user.password !== undefined) ctx.addIssue({ code: 'custom', message: 'give password or password_hash, not both' });
    const parsed = parsePasswordHash(user.password_hash);
    if ('problem' in parsed) ctx.addIssue({ code: 'custom', path: ['password_hash'], message: parsed.problem });
  });

/** The seed file format (documented in docs/configuration.md): demo data for `npm start` and the test kit. */
export interface Seed {
  organizations: Organization[];
  users: SeedUser[];
  applications: ParsedApplication[];
  /** APIs (resource servers): configuration, held in memory. */
  apis: Api[];
}

function entryName(kind: string, index: number, entry: unknown): string {
  const { id, name, client_id } = (entry ?? {}) as Record<string, unknown>;
  const label = [name, id ?? client_id].find((v) => typeof v === 'string');
  return label === undefined ? `${kind}[${index}]` : `${kind}[${index}] ("${label}")`;
}

function parseEntry<T>(schema: z.ZodType<T>, kind: string, index: number, entry: unknown): T {
  const result = schema.safeParse(entry);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw new SeedError(`${entryName(kind, index, entry)}: ${issues.join('; ')}`);
}

/**
 * The client_id of a seed application given none: derived from its kind and name, so every start and
 * every instance sharing a store gives it the same id (a random one would make a new app per start).
 */
export function seedClientId(app: { application_type: string; name: string }): string {
  return `client_${createHash('sha256').update(`seed:${app.application_type}:${app.name}`).digest('hex').slice(0, 24)}`;
}

/** Duplicate application ids; a derived one says how to fix it. */
function rejectDuplicateApplications(applications: ParsedApplication[], derived: boolean[], names: string[]): void {
  const seen = new Map<string, number>();
  applications.forEach((app, index) => {
    const first = seen.get(app.client_id);
    if (first === undefined) {
      seen.set(app.client_id, index);
      return;
    }
    if (derived[index] && derived[first]) {
      throw new SeedError(`${names[index]}: same kind and name as ${names[first]}, so the same derived client_id "${app.client_id}": give it a client_id`);
    }
    if (derived[index] || derived[first]) {
      const which = derived[index] ? index : first;
      throw new SeedError(
        `${names[index]}: duplicate id "${app.client_id}" (${names[which]} has no client_id, its id is derived from its kind and name): give it a client_id`,
      );
    }
    throw new SeedError(`applications[${index}]: duplicate id "${app.client_id}"`);
  });
}

function rejectDuplicates(kind: string, ids: string[]): void {
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    if (seen.has(id)) throw new SeedError(`${kind}[${index}]: duplicate id "${id}"`);
    seen.add(id);
  });
}

/**
 * Validates a seed object. Every problem is reported with the entry it is in, e.g.
 * `applications[1] ("Partner CRM"): a third-party application needs organization_id`.
 */
export function parseSeed(input: unknown): Seed {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SeedError('the seed must be a JSON object with organizations, users, applications and apis');
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!['organizations', 'users', 'applications', 'apis'].includes(key)) throw new SeedError(`unknown top-level key "${key}"`);
  }
  const list = (key: string): unknown[] => {
    const value = raw[key] ?? [];
    if (!Array.isArray(value)) throw new SeedError(`${key} must be an array`);
    return value;
  };

  const organizations = list('organizations').map((o, i) => parseEntry(organizationSchema, 'organizations', i, o));
  rejectDuplicates('organizations', organizations.map((o) => o.id));
  const orgIds = new Set(organizations.map((o) => o.id));

  const users = list('users').map((u, i) => parseEntry(userSchema, 'users', i, u));
  rejectDuplicates('users', users.map((u) => u.id));
  rejectDuplicates('users (email)', users.map((u) => u.email.toLowerCase()));
  users.forEach((user, i) => {
    for (const org of user.organizations) {
      if (!orgIds.has(org)) throw new SeedError(`${entryName('users', i, user)}: unknown organization "${org}"`);
    }
  });

  const entries = list('applications');
  const names = entries.map((entry, i) => entryName('applications', i, entry));
  const derived = entries.map((entry) => (entry as { client_id?: unknown } | null)?.client_id === undefined);
  const applications = entries.map((entry, i) => {
    const where = names[i]!;
    try {
      const app = parseApplication(entry, `applications[${i}]`);
      // parseApplication (also used at run time: the admin API) makes a random id; a seed app's is derived.
      if (derived[i]) app.client_id = seedClientId(app);
      if (app.organization_id && !orgIds.has(app.organization_id)) {
        throw new SeedError(`${where}: unknown organization_id "${app.organization_id}"`);
      }
      return app;
    } catch (error) {
      if (error instanceof ApplicationError) throw new SeedError(error.message);
      throw error;
    }
  });
  rejectDuplicateApplications(applications, derived, names);

  const apis = list('apis').map((entry, i) => {
    try {
      return parseApi(entry, `apis[${i}]`);
    } catch (error) {
      if (error instanceof ApiError) throw new SeedError(error.message);
      throw error;
    }
  });
  const identifiers = new Map<string, number>();
  apis.forEach((api, i) => {
    const first = identifiers.get(api.identifier);
    if (first !== undefined) throw new SeedError(`apis[${i}] ("${api.name}"): duplicate identifier "${api.identifier}" (apis[${first}])`);
    identifiers.set(api.identifier, i);
  });

  return { organizations, users, applications, apis };
}

/** Reads and validates a seed file; the error names the file. */
export async function loadSeedFile(path: string): Promise<Seed> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new SeedError(`cannot read seed file ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SeedError(`seed file ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  try {
    return parseSeed(json);
  } catch (error) {
    if (error instanceof SeedError) throw new SeedError(`seed file ${path}: ${error.message}`);
    throw error;
  }
}

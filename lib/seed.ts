import { readFile } from 'node:fs/promises';

import { z } from 'zod';

import { parseApplication, type ParsedApplication } from './applications.js';
import type { Organization, SeedUser } from './directory.js';
import { ApplicationError, SeedError } from './errors.js';

const organizationSchema = z.object({ id: z.string().min(1), name: z.string().min(1) }).strict();

const userSchema = z
  .object({
    id: z.string().min(1),
    email: z.string().email(),
    email_verified: z.boolean().optional(),
    password: z.string().min(1).optional(),
    name: z.string().optional(),
    given_name: z.string().optional(),
    family_name: z.string().optional(),
    picture: z.string().url().optional(),
    organizations: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** The seed file format (documented in the README): demo data for `npm start` and the test kit. */
export interface Seed {
  organizations: Organization[];
  users: SeedUser[];
  applications: ParsedApplication[];
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
    throw new SeedError('the seed must be a JSON object with organizations, users and applications');
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!['organizations', 'users', 'applications'].includes(key)) throw new SeedError(`unknown top-level key "${key}"`);
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

  const applications = list('applications').map((entry, i) => {
    const where = entryName('applications', i, entry);
    try {
      const app = parseApplication(entry, `applications[${i}]`);
      if (app.organization_id && !orgIds.has(app.organization_id)) {
        throw new SeedError(`${where}: unknown organization_id "${app.organization_id}"`);
      }
      return app;
    } catch (error) {
      if (error instanceof ApplicationError) throw new SeedError(error.message);
      throw error;
    }
  });
  rejectDuplicates('applications', applications.map((a) => a.client_id));

  return { organizations, users, applications };
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

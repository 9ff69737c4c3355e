import { z } from 'zod';

/** The `admin` option of createProvider: the admin API is off unless it is given. */
export interface AdminOptions {
  /** Bearer token of the admin API: at least 32 printable ASCII characters (e.g. `openssl rand -base64 32`). */
  token: string;
}

export const adminOptionSchema = z
  .object({
    token: z
      .string()
      .min(32, 'the admin token needs at least 32 characters')
      .regex(/^[\x21-\x7E]+$/, 'the admin token must be printable ASCII without spaces'),
  })
  .strict();

import type { Context } from 'koa';
import { z } from 'zod';

import type { ViewName } from './views.js';

/**
 * How the built-in pages look for one product: its name, logo and main color, and where users
 * get help. Every field is optional; without any the pages show no product header.
 */
export interface Brand {
  /** The product name: above every page and in the window title. */
  name?: string;
  /** The product logo (http(s) URL, or a path on this host such as `/oauth/assets/logo.svg`). */
  logoUrl?: string;
  /** The logo for dark mode; `logoUrl` is used when absent. */
  logoUrlDark?: string;
  /** Buttons, links and the focus ring: a hex color (`#3b5bdb` or `#36c`). Lightened in dark mode when needed. */
  primaryColor?: string;
  /** A "Help" link under every page (http(s) or mailto: URL). */
  supportUrl?: string;
}

/** What a per-request brand hook is told besides the Koa context (host, headers...). */
export interface BrandRequest {
  /** The application the page is shown for, when there is one (interaction and logout pages). */
  clientId?: string;
  /** The page being rendered. */
  view: ViewName;
}

/** Picks the brand per request: one process serving differently branded pages by host or application. */
export type BrandHook = (ctx: Context, request: BrandRequest) => Brand | undefined | Promise<Brand | undefined>;

/** The `brand` option: one brand for every page, or a hook choosing one per request. */
export type BrandOption = Brand | BrandHook;

const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

function isUrl(value: string, protocols: string[]): boolean {
  return URL.canParse(value) && protocols.includes(new URL(value).protocol);
}

/** A URL the browser loads an image from: http(s), or an absolute path on this host (not `//host`). */
const imageUrl = z
  .string()
  .max(2048)
  .refine((v) => isUrl(v, ['http:', 'https:']) || /^\/(?![/\\])/.test(v), 'must be an http(s) URL or a path starting with /');

export const brandSchema = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(80, 'must be at most 80 characters').optional(),
    logoUrl: imageUrl.optional(),
    logoUrlDark: imageUrl.optional(),
    primaryColor: z.string().regex(HEX_COLOR, 'must be a hex color like #3b5bdb').optional(),
    supportUrl: z
      .string()
      .max(2048)
      .refine((v) => isUrl(v, ['http:', 'https:', 'mailto:']), 'must be an http(s) or mailto: URL')
      .optional(),
  })
  .strict();

/**
 * Validates the `brand` option: a function is taken as is (what it returns is checked at each
 * request), an object field by field, so the error names the field (`brand.primaryColor`).
 */
export const brandOptionSchema = z.any().superRefine((value, ctx) => {
  if (typeof value === 'function') return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be a brand object ({ name, logoUrl, primaryColor, ... }) or a function (ctx) => Brand' });
    return;
  }
  const result = brandSchema.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as PropertyKey[] });
  }
}) as unknown as z.ZodType<BrandOption>;

/** `#36C` -> `#3366cc`: one spelling per color, so a generated stylesheet URL is stable. */
export function normalizeHex(color: string): string {
  const hex = color.slice(1).toLowerCase();
  return `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;
}

/** A validated brand with its color normalized. Throws a ZodError when invalid. */
export function parseBrand(value: unknown): Brand {
  const brand = brandSchema.parse(value ?? {});
  return brand.primaryColor ? { ...brand, primaryColor: normalizeHex(brand.primaryColor) } : brand;
}

/**
 * The brand of one page. A hook that throws or returns an invalid brand does not stop anyone
 * from signing in: the error is logged and the page is shown with the default look.
 */
export async function resolveBrand(option: BrandOption | undefined, ctx: Context | undefined, request: BrandRequest): Promise<Brand> {
  if (typeof option !== 'function') return option ?? {};
  if (!ctx) return {};
  try {
    return parseBrand(await option(ctx, request));
  } catch (error) {
    const detail = error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.') || 'brand'}: ${i.message}`).join('; ') : String(error);
    console.error(`orgconnect: the brand hook failed for the ${request.view} page (${detail}); showing the default look`);
    return {};
  }
}

/**
 * An image URL fit for `src` and `srcset`: http(s) or a path on this host, normalized (spaces and
 * the like percent-encoded, so it is one srcset candidate). Anything else: undefined.
 */
export function imageSrc(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value) return undefined;
  if (isUrl(value, ['http:', 'https:'])) return new URL(value).href;
  if (/^\/(?![/\\])/.test(value) && URL.canParse(value, 'http://host')) {
    const url = new URL(value, 'http://host');
    return `${url.pathname}${url.search}`;
  }
  return undefined;
}

/** Up to two letters standing for a name: "Partner CRM" -> "PC", "globex" -> "G". */
export function initials(name: string | undefined): string {
  const words = (name ?? '').match(/[\p{L}\p{N}]+/gu) ?? [];
  const letters = words.slice(0, 2).map((word) => Array.from(word)[0]!);
  return letters.join('').toUpperCase() || '?';
}

/** One of the stylesheet's tones (`tone-0` ... `tone-5`) per name, so an avatar keeps its color. */
export function tone(name: string | undefined): string {
  let hash = 0;
  for (const char of name ?? '') hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return `tone-${hash % 6}`;
}

// ---------------------------------------------------------------------------------------------
// The brand stylesheet: CSS custom properties derived from the primary color. Served as a file
// (http/assets.ts), never inline, so pages keep working under a CSP without 'unsafe-inline'.

type Rgb = [number, number, number];

/** The card backgrounds of views/assets/orgconnect.css (light, dark): contrast is measured against them. */
const CARD_LIGHT: Rgb = [255, 255, 255];
const CARD_DARK: Rgb = [27, 30, 36];
const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [16, 19, 24];

function rgb(hex: string): Rgb {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function toHex(color: Rgb): string {
  return `#${color.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;
}

function luminance([r, g, b]: Rgb): number {
  const channel = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

function mix(a: Rgb, b: Rgb, amount: number): Rgb {
  return a.map((c, i) => c + (b[i]! - c) * amount) as Rgb;
}

/** `color` moved toward `target` in small steps until it reaches `ratio` against `background`. */
function until(color: Rgb, target: Rgb, background: Rgb, ratio: number): Rgb {
  for (let step = 0; step <= 20; step += 1) {
    const candidate = mix(color, target, step / 20);
    if (contrast(candidate, background) >= ratio) return candidate;
  }
  return target;
}

function palette(primary: Rgb, card: Rgb, lighten: boolean): Record<string, string> {
  const toward = lighten ? WHITE : INK;
  // Buttons: the brand's own color on the light card. On the dark card a dark color is lightened
  // until it stands out (3:1, WCAG non-text contrast). Their text is white or ink, whichever reads better.
  const button = lighten ? until(primary, toward, card, 3) : primary;
  const onButton = contrast(WHITE, button) >= contrast(INK, button) ? WHITE : INK;
  // Links and the focus ring are text-sized: 4.5:1.
  const accent = until(primary, toward, card, 4.5);
  return {
    '--primary': toHex(button),
    '--primary-hover': toHex(mix(button, lighten ? WHITE : INK, 0.12)),
    '--on-primary': toHex(onButton),
    '--accent': toHex(accent),
    '--accent-soft': `rgb(${accent.map(Math.round).join(' ')} / ${lighten ? 0.2 : 0.12})`,
  };
}

/** The stylesheet for a primary color (already validated and normalized by `parseBrand`). */
export function brandStylesheet(primaryColor: string): string {
  const color = rgb(normalizeHex(primaryColor));
  const block = (vars: Record<string, string>) =>
    Object.entries(vars)
      .map(([name, value]) => `  ${name}: ${value};`)
      .join('\n');
  return `/* orgconnect brand: ${normalizeHex(primaryColor)} */
:root {
${block(palette(color, CARD_LIGHT, false))}
}
@media (prefers-color-scheme: dark) {
  :root {
${block(palette(color, CARD_DARK, true)).replace(/^/gm, '  ')}
  }
}
`;
}

export function isHexColor(value: string): boolean {
  return HEX_COLOR.test(value);
}

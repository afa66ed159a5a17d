// Canaries: shaped like the real thing, made up for tests.
export const CANARY = {
  jwt: 'eyJhbGciOiJSUzI1NiIsImtpZCI6IkNBTkFSWSJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2FuYXJ5In0.c2lnbmF0dXJlLWNhbmFyeS12YWx1ZQ',
  akid: 'AKIACANARY7EXAMPLE42',
  asid: 'ASIACANARY7EXAMPLE43',
  awsSecret: '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',
  pemBody: 'MIIEowIBAAKCAQEAcanaryPrivateKeyBodyLine0000000000000000000000000',
  bearer: 'kcanary0bearer0token0value0123456789',
  secretValue: 'Y2FuYXJ5LXNlY3JldC12YWx1ZQ==',
  // A credential with no recognisable shape: only the key that names it gives it away.
  password: 'canary-Hunter2-password',
  // base64 of `canary-patch-value`: a Secret value set by a JSON patch.
  patchValue: 'Y2FuYXJ5LXBhdGNoLXZhbHVl',
} as const;

export const PEM = `-----BEGIN RSA PRIVATE KEY-----\n${CANARY.pemBody}\nZm9vYmFyYmF6cXV4\n-----END RSA PRIVATE KEY-----\n`;

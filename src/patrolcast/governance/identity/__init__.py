"""Who is asking: the server's key, passwords and TOTP, sign-in with lockout, sessions and tokens.

Identity comes from authentication, never from a name the caller types. The modules:

``keys``       the server's secret key (a file only the server reads, outside the database):
               HMACs of tokens and credential rows, encryption of TOTP secrets
``credentials`` argon2id password hashes, TOTP secrets, the HMAC that seals a credential row
``sign_in``    enrolment (one-time code), sign-in with lockout, re-authentication; all audited
``sessions``   browser sessions (idle and absolute timeouts, CSRF) and personal API tokens
"""

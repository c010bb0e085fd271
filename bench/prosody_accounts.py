"""Writes Prosody `internal_hashed` account files (SCRAM-SHA-1 salt, iteration count, StoredKey
and ServerKey; no password) for <prefix>0 … <prefix><count-1> and any further names given, the same credentials Herald's
`user add-range` stores, so both servers verify logins the same way. Much faster than one
`prosodyctl register` per account."""

import hashlib
import hmac
import os
import sys


def main():
    data_path, host, prefix, count, password = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    accounts = os.path.join(data_path, host.replace(".", "%2e"), "accounts")
    os.makedirs(accounts, exist_ok=True)
    for name in [f"{prefix}{n}" for n in range(count)] + sys.argv[6:]:
        salt = os.urandom(12).hex()
        salted = hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), 4096)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
        stored_key = hashlib.sha1(client_key).hexdigest()
        server_key = hmac.new(salted, b"Server Key", hashlib.sha1).hexdigest()
        with open(os.path.join(accounts, f"{name}.dat"), "w") as f:
            f.write(
                "return {\n"
                f'\t["iteration_count"] = 4096;\n\t["salt"] = "{salt}";\n'
                f'\t["stored_key"] = "{stored_key}";\n\t["server_key"] = "{server_key}";\n'
                "};\n"
            )


if __name__ == "__main__":
    main()

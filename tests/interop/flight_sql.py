"""Real Flight SQL clients against `logfusion serve`: ADBC's Flight SQL driver and pyarrow.flight.

Run by tests/server.rs (`python_clients`) with one JSON argument: the addresses of a plain, a TLS
and a mutual-TLS server, the test CA and client certificate, the credentials, a query and the
rows `logfusion query` printed for it. Exits non-zero on the first check that fails.
"""

import json
import sys

import adbc_driver_flightsql.dbapi as flightsql
from adbc_driver_flightsql import DatabaseOptions
from adbc_driver_manager import AdbcStatusCode, Error as AdbcError
import pyarrow.flight as flight

spec = json.loads(sys.argv[1])
ca = open(spec["ca"]).read()
client_cert = open(spec["client_cert"]).read()
client_key = open(spec["client_key"]).read()
expected = [list(map(str, row)) for row in spec["expected"]]


def check(what, ok, detail=""):
    if not ok:
        sys.exit(f"FAILED: {what} {detail}")
    print(f"ok: {what}")


def as_rows(table):
    return [[str(v) for v in row.values()] for row in table.to_pylist()]


def adbc(uri, **options):
    return flightsql.connect(uri, db_kwargs={k: v for k, v in options.items()})


def adbc_query(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def adbc_error(conn_factory, sql):
    """The ADBC status code of running `sql` on a connection from `conn_factory`, or None."""
    try:
        with conn_factory() as conn:
            adbc_query(conn, sql)
    except AdbcError as e:
        return e.status_code, str(e)
    return None, ""


bearer = {DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {spec['token']}"}
plain = f"grpc://{spec['plain']}"
tls = f"grpc+tls://{spec['tls']}"
mtls = f"grpc+tls://{spec['mtls']}"
roots = {DatabaseOptions.TLS_ROOT_CERTS.value: ca}
client_pair = {
    DatabaseOptions.MTLS_CERT_CHAIN.value: client_cert,
    DatabaseOptions.MTLS_PRIVATE_KEY.value: client_key,
}

# --- ADBC: the same rows as `logfusion query`, however the caller authenticates and connects.
with adbc(plain, **bearer) as conn:
    check("adbc bearer token", as_rows(adbc_query(conn, spec["sql"])) == expected)
    objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    tables = {
        t["table_name"]
        for catalog in objects
        for schema in catalog["catalog_db_schemas"] or []
        for t in schema["db_schema_tables"] or []
    }
    want = {"access", "access_rejects", "access_profile", "syslog", "json", "logfmt", "app"}
    check("adbc GetObjects lists the configured tables", want <= tables, sorted(tables))
    info = conn.adbc_get_info()
    check("adbc GetSqlInfo names the server", info.get("vendor_name") == "logfusion", info)

with adbc(plain, username=spec["user"], password=spec["password"]) as conn:
    check("adbc username/password", as_rows(adbc_query(conn, spec["sql"])) == expected)

with adbc(tls, **bearer, **roots) as conn:
    check("adbc over TLS (test CA)", as_rows(adbc_query(conn, spec["sql"])) == expected)

with adbc(tls, username=spec["user"], password=spec["password"], **roots) as conn:
    check("adbc username/password over TLS", as_rows(adbc_query(conn, spec["sql"])) == expected)

with adbc(mtls, **bearer, **roots, **client_pair) as conn:
    check("adbc over mutual TLS", as_rows(adbc_query(conn, spec["sql"])) == expected)

code, message = adbc_error(lambda: adbc(mtls, **bearer, **roots), "SELECT 1")
check("adbc without a client certificate is refused by mutual TLS", code is not None, message)

# --- ADBC: what is refused, and how.
code, message = adbc_error(lambda: adbc(plain), "SELECT 1")
check("adbc without a token: UNAUTHENTICATED", code == AdbcStatusCode.UNAUTHENTICATED, message)
wrong = {DatabaseOptions.AUTHORIZATION_HEADER.value: "Bearer lf_wrong"}
code, message = adbc_error(lambda: adbc(plain, **wrong), "SELECT 1")
check("adbc with a wrong token: UNAUTHENTICATED", code == AdbcStatusCode.UNAUTHENTICATED, message)
code, message = adbc_error(lambda: adbc(plain, username=spec["user"], password="wrong"), "SELECT 1")
check("adbc with a wrong password: UNAUTHENTICATED", code == AdbcStatusCode.UNAUTHENTICATED, message)
restricted = {DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {spec['access_only']}"}
code, message = adbc_error(lambda: adbc(plain, **restricted), "SELECT count(*) FROM syslog")
check(
    "adbc reading a source outside the token's list: UNAUTHORIZED naming it",
    code == AdbcStatusCode.UNAUTHORIZED and "syslog" in message,
    f"{code} {message}",
)
for sql in [
    "CREATE TABLE t AS SELECT 1",
    "INSERT INTO access SELECT * FROM access",
    "COPY (SELECT 1) TO '/tmp/logfusion-interop.csv' STORED AS CSV",
    "SET datafusion.execution.batch_size = 1",
    "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
    "SELECT * FROM '/etc/passwd'",
]:
    code, message = adbc_error(lambda: adbc(plain, **bearer), sql)
    check(f"adbc refused: {sql}", code == AdbcStatusCode.UNAUTHORIZED, f"{code} {message}")

# --- pyarrow.flight: Flight SQL commands by hand (CommandStatementQuery in an Any).


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    return bytes([number << 3 | 2]) + varint(len(payload)) + payload


def statement_query(sql):
    command = field(1, sql.encode())
    type_url = b"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"
    return field(1, type_url) + field(2, command)


def flight_query(client, headers, sql):
    options = flight.FlightCallOptions(headers=headers)
    info = client.get_flight_info(flight.FlightDescriptor.for_command(statement_query(sql)), options)
    tables = [client.do_get(endpoint.ticket, options).read_all() for endpoint in info.endpoints]
    return [row for t in tables for row in as_rows(t)]


token_header = [(b"authorization", f"Bearer {spec['token']}".encode())]
client = flight.FlightClient(plain)
check("pyarrow.flight bearer token", flight_query(client, token_header, spec["sql"]) == expected)
basic = client.authenticate_basic_token(spec["user"], spec["password"])
check("pyarrow.flight basic auth handshake", flight_query(client, [basic], spec["sql"]) == expected)
try:
    flight_query(client, [], "SELECT 1")
    check("pyarrow.flight without a token fails", False)
except flight.FlightUnauthenticatedError as e:
    check("pyarrow.flight without a token: FlightUnauthenticatedError", True, e)
try:
    flight_query(client, [(b"authorization", f"Bearer {spec['access_only']}".encode())], "SELECT * FROM json")
    check("pyarrow.flight forbidden source fails", False)
except flight.FlightUnauthorizedError as e:
    check("pyarrow.flight forbidden source: FlightUnauthorizedError", "json" in str(e), e)

client = flight.FlightClient(tls, tls_root_certs=ca.encode())
check("pyarrow.flight over TLS", flight_query(client, token_header, spec["sql"]) == expected)
client = flight.FlightClient(mtls, tls_root_certs=ca.encode(), cert_chain=client_cert.encode(), private_key=client_key.encode())
check("pyarrow.flight over mutual TLS", flight_query(client, token_header, spec["sql"]) == expected)

print("all checks passed")

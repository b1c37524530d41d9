"""moto's server answering one request at a time, for the concurrency tests.

moto 5.2 serves requests on threads with no lock around TransactWriteItems, and a cancelled
transaction restores a whole-table copy taken before it ran, losing what other threads
committed meanwhile: real DynamoDB does neither. One request at a time makes moto's answers
those of a serializable DynamoDB, so a race test's outcome is the code's, not moto's.
Usage: python moto_serial.py HOST PORT
"""

import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, processes=1, use_reloader=False, request_handler=MotoRequestHandler)

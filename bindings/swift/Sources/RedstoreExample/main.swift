// A terminal in Swift: connects with the REDSTORE_* environment, selects a store, sells one unit of a
// SKU for cash and prints the receipt. The nullability annotations of the headers make every
// `redstore_x **out` an `UnsafeMutablePointer<OpaquePointer?>` and every nullable string a `String?`.
import CRedstore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A libredstore failure: the code's stable name and the thread's last error message.
struct RedstoreError: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    var retriable: Bool { redstore_err_is_retriable(code) != 0 }
    var description: String { "\(String(cString: redstore_err_name(code))): \(message)" }
}

/// Turns a return code into a thrown error.
func check(_ code: Int32) throws {
    if code != 0 {
        throw RedstoreError(code: code, message: String(cString: redstore_error_last()))
    }
}

let args = CommandLine.arguments
guard args.count == 3 else {
    print("usage: RedstoreExample <store> <sku>")
    exit(2)
}

do {
    var client: OpaquePointer?
    try check(redstore_client_new(&client, nil))   // nil: defaults + REDSTORE_* environment
    defer { redstore_client_free(client) }
    try check(redstore_client_use_store(client!, args[1]))
    try check(redstore_client_set_actor(client!, "swift-terminal", nil))

    var sale: OpaquePointer?
    try check(redstore_sale_new(&sale, nil))        // nil: a fresh UUIDv7 sale id
    defer { redstore_sale_free(sale) }
    try check(redstore_sale_add_line(sale!, args[2], 1, nil))

    // Price it first, then pay the exact total in cash.
    var quote: UnsafeMutablePointer<redstore_receipt>?
    try check(redstore_sale_quote(&quote, client!, sale!))
    let total = quote!.pointee.total
    redstore_receipt_free(quote)
    try check(redstore_sale_add_tender(sale!, REDSTORE_TENDER_CASH, total, nil))

    var receipt: UnsafeMutablePointer<redstore_receipt>?
    try check(redstore_sale_commit(&receipt, client!, sale!))
    defer { redstore_receipt_free(receipt) }
    var text: UnsafeMutablePointer<CChar>?
    try check(redstore_receipt_render_text(&text, receipt!, 42))
    defer { redstore_free(text) }
    print(String(cString: text!))
} catch let error as RedstoreError {
    print("error: \(error)\(error.retriable ? " (retriable: try again with the same sale)" : "")")
    exit(1)
}

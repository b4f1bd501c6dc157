import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes the connection once a response marked `Connection: close` has been written.
///
/// Hummingbird keeps a connection open after any response and reads the rest of an unread
/// request body first. For a body refused because it is over the size limit that would mean
/// reading an unbounded body for nothing; the route marks that answer `Connection: close`, and
/// this handler ends the connection once the answer is sent. (Other early rejections drain
/// their bounded body, so the client reads the error rather than a reset.)
final class CloseAfterResponseHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var closeAfterEnd = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if response.status.kind != .informational {
                closeAfterEnd = response.headerFields[.connection]?.lowercased() == "close"
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closeAfterEnd else {
                context.write(data, promise: promise)
                return
            }
            closeAfterEnd = false
            context.writeAndFlush(data).whenComplete { [context] result in
                promise?.completeWith(result)
                context.close(promise: nil)
            }
        }
    }
}

package io.memorid.client.internal.gen.memori.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * MemoryService reads, writes and forgets memories.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class MemoryServiceGrpc {

  private MemoryServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "memori.v1.MemoryService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.RecallRequest,
      io.memorid.client.internal.gen.memori.v1.RecallResponse> getRecallMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Recall",
      requestType = io.memorid.client.internal.gen.memori.v1.RecallRequest.class,
      responseType = io.memorid.client.internal.gen.memori.v1.RecallResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.RecallRequest,
      io.memorid.client.internal.gen.memori.v1.RecallResponse> getRecallMethod() {
    io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.RecallRequest, io.memorid.client.internal.gen.memori.v1.RecallResponse> getRecallMethod;
    if ((getRecallMethod = MemoryServiceGrpc.getRecallMethod) == null) {
      synchronized (MemoryServiceGrpc.class) {
        if ((getRecallMethod = MemoryServiceGrpc.getRecallMethod) == null) {
          MemoryServiceGrpc.getRecallMethod = getRecallMethod =
              io.grpc.MethodDescriptor.<io.memorid.client.internal.gen.memori.v1.RecallRequest, io.memorid.client.internal.gen.memori.v1.RecallResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Recall"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.RecallRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.RecallResponse.getDefaultInstance()))
              .setSchemaDescriptor(new MemoryServiceMethodDescriptorSupplier("Recall"))
              .build();
        }
      }
    }
    return getRecallMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.AttributeRequest,
      io.memorid.client.internal.gen.memori.v1.AttributeResponse> getAttributeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Attribute",
      requestType = io.memorid.client.internal.gen.memori.v1.AttributeRequest.class,
      responseType = io.memorid.client.internal.gen.memori.v1.AttributeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.AttributeRequest,
      io.memorid.client.internal.gen.memori.v1.AttributeResponse> getAttributeMethod() {
    io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.AttributeRequest, io.memorid.client.internal.gen.memori.v1.AttributeResponse> getAttributeMethod;
    if ((getAttributeMethod = MemoryServiceGrpc.getAttributeMethod) == null) {
      synchronized (MemoryServiceGrpc.class) {
        if ((getAttributeMethod = MemoryServiceGrpc.getAttributeMethod) == null) {
          MemoryServiceGrpc.getAttributeMethod = getAttributeMethod =
              io.grpc.MethodDescriptor.<io.memorid.client.internal.gen.memori.v1.AttributeRequest, io.memorid.client.internal.gen.memori.v1.AttributeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Attribute"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.AttributeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.AttributeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new MemoryServiceMethodDescriptorSupplier("Attribute"))
              .build();
        }
      }
    }
    return getAttributeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest,
      io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse> getWaitForAugmentationMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WaitForAugmentation",
      requestType = io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest.class,
      responseType = io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest,
      io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse> getWaitForAugmentationMethod() {
    io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest, io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse> getWaitForAugmentationMethod;
    if ((getWaitForAugmentationMethod = MemoryServiceGrpc.getWaitForAugmentationMethod) == null) {
      synchronized (MemoryServiceGrpc.class) {
        if ((getWaitForAugmentationMethod = MemoryServiceGrpc.getWaitForAugmentationMethod) == null) {
          MemoryServiceGrpc.getWaitForAugmentationMethod = getWaitForAugmentationMethod =
              io.grpc.MethodDescriptor.<io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest, io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WaitForAugmentation"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse.getDefaultInstance()))
              .setSchemaDescriptor(new MemoryServiceMethodDescriptorSupplier("WaitForAugmentation"))
              .build();
        }
      }
    }
    return getWaitForAugmentationMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.ListFactsRequest,
      io.memorid.client.internal.gen.memori.v1.ListFactsResponse> getListFactsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListFacts",
      requestType = io.memorid.client.internal.gen.memori.v1.ListFactsRequest.class,
      responseType = io.memorid.client.internal.gen.memori.v1.ListFactsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.ListFactsRequest,
      io.memorid.client.internal.gen.memori.v1.ListFactsResponse> getListFactsMethod() {
    io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.ListFactsRequest, io.memorid.client.internal.gen.memori.v1.ListFactsResponse> getListFactsMethod;
    if ((getListFactsMethod = MemoryServiceGrpc.getListFactsMethod) == null) {
      synchronized (MemoryServiceGrpc.class) {
        if ((getListFactsMethod = MemoryServiceGrpc.getListFactsMethod) == null) {
          MemoryServiceGrpc.getListFactsMethod = getListFactsMethod =
              io.grpc.MethodDescriptor.<io.memorid.client.internal.gen.memori.v1.ListFactsRequest, io.memorid.client.internal.gen.memori.v1.ListFactsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListFacts"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.ListFactsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.ListFactsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new MemoryServiceMethodDescriptorSupplier("ListFacts"))
              .build();
        }
      }
    }
    return getListFactsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.DeleteFactRequest,
      io.memorid.client.internal.gen.memori.v1.DeleteFactResponse> getDeleteFactMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteFact",
      requestType = io.memorid.client.internal.gen.memori.v1.DeleteFactRequest.class,
      responseType = io.memorid.client.internal.gen.memori.v1.DeleteFactResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.DeleteFactRequest,
      io.memorid.client.internal.gen.memori.v1.DeleteFactResponse> getDeleteFactMethod() {
    io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.DeleteFactRequest, io.memorid.client.internal.gen.memori.v1.DeleteFactResponse> getDeleteFactMethod;
    if ((getDeleteFactMethod = MemoryServiceGrpc.getDeleteFactMethod) == null) {
      synchronized (MemoryServiceGrpc.class) {
        if ((getDeleteFactMethod = MemoryServiceGrpc.getDeleteFactMethod) == null) {
          MemoryServiceGrpc.getDeleteFactMethod = getDeleteFactMethod =
              io.grpc.MethodDescriptor.<io.memorid.client.internal.gen.memori.v1.DeleteFactRequest, io.memorid.client.internal.gen.memori.v1.DeleteFactResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteFact"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.DeleteFactRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.DeleteFactResponse.getDefaultInstance()))
              .setSchemaDescriptor(new MemoryServiceMethodDescriptorSupplier("DeleteFact"))
              .build();
        }
      }
    }
    return getDeleteFactMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest,
      io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse> getForgetEntityMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ForgetEntity",
      requestType = io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest.class,
      responseType = io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest,
      io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse> getForgetEntityMethod() {
    io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest, io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse> getForgetEntityMethod;
    if ((getForgetEntityMethod = MemoryServiceGrpc.getForgetEntityMethod) == null) {
      synchronized (MemoryServiceGrpc.class) {
        if ((getForgetEntityMethod = MemoryServiceGrpc.getForgetEntityMethod) == null) {
          MemoryServiceGrpc.getForgetEntityMethod = getForgetEntityMethod =
              io.grpc.MethodDescriptor.<io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest, io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ForgetEntity"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse.getDefaultInstance()))
              .setSchemaDescriptor(new MemoryServiceMethodDescriptorSupplier("ForgetEntity"))
              .build();
        }
      }
    }
    return getForgetEntityMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.GetSessionRequest,
      io.memorid.client.internal.gen.memori.v1.GetSessionResponse> getGetSessionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetSession",
      requestType = io.memorid.client.internal.gen.memori.v1.GetSessionRequest.class,
      responseType = io.memorid.client.internal.gen.memori.v1.GetSessionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.GetSessionRequest,
      io.memorid.client.internal.gen.memori.v1.GetSessionResponse> getGetSessionMethod() {
    io.grpc.MethodDescriptor<io.memorid.client.internal.gen.memori.v1.GetSessionRequest, io.memorid.client.internal.gen.memori.v1.GetSessionResponse> getGetSessionMethod;
    if ((getGetSessionMethod = MemoryServiceGrpc.getGetSessionMethod) == null) {
      synchronized (MemoryServiceGrpc.class) {
        if ((getGetSessionMethod = MemoryServiceGrpc.getGetSessionMethod) == null) {
          MemoryServiceGrpc.getGetSessionMethod = getGetSessionMethod =
              io.grpc.MethodDescriptor.<io.memorid.client.internal.gen.memori.v1.GetSessionRequest, io.memorid.client.internal.gen.memori.v1.GetSessionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetSession"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.GetSessionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.memorid.client.internal.gen.memori.v1.GetSessionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new MemoryServiceMethodDescriptorSupplier("GetSession"))
              .build();
        }
      }
    }
    return getGetSessionMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static MemoryServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<MemoryServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<MemoryServiceStub>() {
        @java.lang.Override
        public MemoryServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new MemoryServiceStub(channel, callOptions);
        }
      };
    return MemoryServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static MemoryServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<MemoryServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<MemoryServiceBlockingV2Stub>() {
        @java.lang.Override
        public MemoryServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new MemoryServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return MemoryServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static MemoryServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<MemoryServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<MemoryServiceBlockingStub>() {
        @java.lang.Override
        public MemoryServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new MemoryServiceBlockingStub(channel, callOptions);
        }
      };
    return MemoryServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static MemoryServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<MemoryServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<MemoryServiceFutureStub>() {
        @java.lang.Override
        public MemoryServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new MemoryServiceFutureStub(channel, callOptions);
        }
      };
    return MemoryServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * MemoryService reads, writes and forgets memories.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Recall streams the entity's memories that best match a query, best
     * first.
     * </pre>
     */
    default void recall(io.memorid.client.internal.gen.memori.v1.RecallRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.RecallResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRecallMethod(), responseObserver);
    }

    /**
     * <pre>
     * Attribute stores turns that the caller ran against a model itself. Each
     * response follows the request with the same idempotency key, and only
     * once the turn is durably stored; the same key twice stores once.
     * </pre>
     */
    default io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.AttributeRequest> attribute(
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.AttributeResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getAttributeMethod(), responseObserver);
    }

    /**
     * <pre>
     * WaitForAugmentation blocks until the pending memory work of an entity
     * (or of some of its turns) is done, or the timeout passes.
     * </pre>
     */
    default void waitForAugmentation(io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWaitForAugmentationMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListFacts pages through an entity's facts, newest first.
     * </pre>
     */
    default void listFacts(io.memorid.client.internal.gen.memori.v1.ListFactsRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.ListFactsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListFactsMethod(), responseObserver);
    }

    /**
     * <pre>
     * DeleteFact deletes one fact.
     * </pre>
     */
    default void deleteFact(io.memorid.client.internal.gen.memori.v1.DeleteFactRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.DeleteFactResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteFactMethod(), responseObserver);
    }

    /**
     * <pre>
     * ForgetEntity deletes everything stored about an entity: facts, turns,
     * messages, sessions and pending jobs.
     * </pre>
     */
    default void forgetEntity(io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getForgetEntityMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetSession returns a session with its turns and messages.
     * </pre>
     */
    default void getSession(io.memorid.client.internal.gen.memori.v1.GetSessionRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.GetSessionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetSessionMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service MemoryService.
   * <pre>
   * MemoryService reads, writes and forgets memories.
   * </pre>
   */
  public static abstract class MemoryServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return MemoryServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service MemoryService.
   * <pre>
   * MemoryService reads, writes and forgets memories.
   * </pre>
   */
  public static final class MemoryServiceStub
      extends io.grpc.stub.AbstractAsyncStub<MemoryServiceStub> {
    private MemoryServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected MemoryServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new MemoryServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Recall streams the entity's memories that best match a query, best
     * first.
     * </pre>
     */
    public void recall(io.memorid.client.internal.gen.memori.v1.RecallRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.RecallResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getRecallMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Attribute stores turns that the caller ran against a model itself. Each
     * response follows the request with the same idempotency key, and only
     * once the turn is durably stored; the same key twice stores once.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.AttributeRequest> attribute(
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.AttributeResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getAttributeMethod(), getCallOptions()), responseObserver);
    }

    /**
     * <pre>
     * WaitForAugmentation blocks until the pending memory work of an entity
     * (or of some of its turns) is done, or the timeout passes.
     * </pre>
     */
    public void waitForAugmentation(io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getWaitForAugmentationMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListFacts pages through an entity's facts, newest first.
     * </pre>
     */
    public void listFacts(io.memorid.client.internal.gen.memori.v1.ListFactsRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.ListFactsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListFactsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * DeleteFact deletes one fact.
     * </pre>
     */
    public void deleteFact(io.memorid.client.internal.gen.memori.v1.DeleteFactRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.DeleteFactResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteFactMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ForgetEntity deletes everything stored about an entity: facts, turns,
     * messages, sessions and pending jobs.
     * </pre>
     */
    public void forgetEntity(io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getForgetEntityMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetSession returns a session with its turns and messages.
     * </pre>
     */
    public void getSession(io.memorid.client.internal.gen.memori.v1.GetSessionRequest request,
        io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.GetSessionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetSessionMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service MemoryService.
   * <pre>
   * MemoryService reads, writes and forgets memories.
   * </pre>
   */
  public static final class MemoryServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<MemoryServiceBlockingV2Stub> {
    private MemoryServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected MemoryServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new MemoryServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Recall streams the entity's memories that best match a query, best
     * first.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<?, io.memorid.client.internal.gen.memori.v1.RecallResponse>
        recall(io.memorid.client.internal.gen.memori.v1.RecallRequest request) {
      return io.grpc.stub.ClientCalls.blockingV2ServerStreamingCall(
          getChannel(), getRecallMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Attribute stores turns that the caller ran against a model itself. Each
     * response follows the request with the same idempotency key, and only
     * once the turn is durably stored; the same key twice stores once.
     * </pre>
     */
    @io.grpc.ExperimentalApi("https://github.com/grpc/grpc-java/issues/10918")
    public io.grpc.stub.BlockingClientCall<io.memorid.client.internal.gen.memori.v1.AttributeRequest, io.memorid.client.internal.gen.memori.v1.AttributeResponse>
        attribute() {
      return io.grpc.stub.ClientCalls.blockingBidiStreamingCall(
          getChannel(), getAttributeMethod(), getCallOptions());
    }

    /**
     * <pre>
     * WaitForAugmentation blocks until the pending memory work of an entity
     * (or of some of its turns) is done, or the timeout passes.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse waitForAugmentation(io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getWaitForAugmentationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListFacts pages through an entity's facts, newest first.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.ListFactsResponse listFacts(io.memorid.client.internal.gen.memori.v1.ListFactsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListFactsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteFact deletes one fact.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.DeleteFactResponse deleteFact(io.memorid.client.internal.gen.memori.v1.DeleteFactRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getDeleteFactMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ForgetEntity deletes everything stored about an entity: facts, turns,
     * messages, sessions and pending jobs.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse forgetEntity(io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getForgetEntityMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetSession returns a session with its turns and messages.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.GetSessionResponse getSession(io.memorid.client.internal.gen.memori.v1.GetSessionRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetSessionMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service MemoryService.
   * <pre>
   * MemoryService reads, writes and forgets memories.
   * </pre>
   */
  public static final class MemoryServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<MemoryServiceBlockingStub> {
    private MemoryServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected MemoryServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new MemoryServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Recall streams the entity's memories that best match a query, best
     * first.
     * </pre>
     */
    public java.util.Iterator<io.memorid.client.internal.gen.memori.v1.RecallResponse> recall(
        io.memorid.client.internal.gen.memori.v1.RecallRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getRecallMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * WaitForAugmentation blocks until the pending memory work of an entity
     * (or of some of its turns) is done, or the timeout passes.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse waitForAugmentation(io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getWaitForAugmentationMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListFacts pages through an entity's facts, newest first.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.ListFactsResponse listFacts(io.memorid.client.internal.gen.memori.v1.ListFactsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListFactsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteFact deletes one fact.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.DeleteFactResponse deleteFact(io.memorid.client.internal.gen.memori.v1.DeleteFactRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteFactMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ForgetEntity deletes everything stored about an entity: facts, turns,
     * messages, sessions and pending jobs.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse forgetEntity(io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getForgetEntityMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetSession returns a session with its turns and messages.
     * </pre>
     */
    public io.memorid.client.internal.gen.memori.v1.GetSessionResponse getSession(io.memorid.client.internal.gen.memori.v1.GetSessionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetSessionMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service MemoryService.
   * <pre>
   * MemoryService reads, writes and forgets memories.
   * </pre>
   */
  public static final class MemoryServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<MemoryServiceFutureStub> {
    private MemoryServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected MemoryServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new MemoryServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * WaitForAugmentation blocks until the pending memory work of an entity
     * (or of some of its turns) is done, or the timeout passes.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse> waitForAugmentation(
        io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getWaitForAugmentationMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListFacts pages through an entity's facts, newest first.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.memorid.client.internal.gen.memori.v1.ListFactsResponse> listFacts(
        io.memorid.client.internal.gen.memori.v1.ListFactsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListFactsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * DeleteFact deletes one fact.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.memorid.client.internal.gen.memori.v1.DeleteFactResponse> deleteFact(
        io.memorid.client.internal.gen.memori.v1.DeleteFactRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteFactMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ForgetEntity deletes everything stored about an entity: facts, turns,
     * messages, sessions and pending jobs.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse> forgetEntity(
        io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getForgetEntityMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetSession returns a session with its turns and messages.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.memorid.client.internal.gen.memori.v1.GetSessionResponse> getSession(
        io.memorid.client.internal.gen.memori.v1.GetSessionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetSessionMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_RECALL = 0;
  private static final int METHODID_WAIT_FOR_AUGMENTATION = 1;
  private static final int METHODID_LIST_FACTS = 2;
  private static final int METHODID_DELETE_FACT = 3;
  private static final int METHODID_FORGET_ENTITY = 4;
  private static final int METHODID_GET_SESSION = 5;
  private static final int METHODID_ATTRIBUTE = 6;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_RECALL:
          serviceImpl.recall((io.memorid.client.internal.gen.memori.v1.RecallRequest) request,
              (io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.RecallResponse>) responseObserver);
          break;
        case METHODID_WAIT_FOR_AUGMENTATION:
          serviceImpl.waitForAugmentation((io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest) request,
              (io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse>) responseObserver);
          break;
        case METHODID_LIST_FACTS:
          serviceImpl.listFacts((io.memorid.client.internal.gen.memori.v1.ListFactsRequest) request,
              (io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.ListFactsResponse>) responseObserver);
          break;
        case METHODID_DELETE_FACT:
          serviceImpl.deleteFact((io.memorid.client.internal.gen.memori.v1.DeleteFactRequest) request,
              (io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.DeleteFactResponse>) responseObserver);
          break;
        case METHODID_FORGET_ENTITY:
          serviceImpl.forgetEntity((io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest) request,
              (io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse>) responseObserver);
          break;
        case METHODID_GET_SESSION:
          serviceImpl.getSession((io.memorid.client.internal.gen.memori.v1.GetSessionRequest) request,
              (io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.GetSessionResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_ATTRIBUTE:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.attribute(
              (io.grpc.stub.StreamObserver<io.memorid.client.internal.gen.memori.v1.AttributeResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getRecallMethod(),
          io.grpc.stub.ServerCalls.asyncServerStreamingCall(
            new MethodHandlers<
              io.memorid.client.internal.gen.memori.v1.RecallRequest,
              io.memorid.client.internal.gen.memori.v1.RecallResponse>(
                service, METHODID_RECALL)))
        .addMethod(
          getAttributeMethod(),
          io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
            new MethodHandlers<
              io.memorid.client.internal.gen.memori.v1.AttributeRequest,
              io.memorid.client.internal.gen.memori.v1.AttributeResponse>(
                service, METHODID_ATTRIBUTE)))
        .addMethod(
          getWaitForAugmentationMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.memorid.client.internal.gen.memori.v1.WaitForAugmentationRequest,
              io.memorid.client.internal.gen.memori.v1.WaitForAugmentationResponse>(
                service, METHODID_WAIT_FOR_AUGMENTATION)))
        .addMethod(
          getListFactsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.memorid.client.internal.gen.memori.v1.ListFactsRequest,
              io.memorid.client.internal.gen.memori.v1.ListFactsResponse>(
                service, METHODID_LIST_FACTS)))
        .addMethod(
          getDeleteFactMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.memorid.client.internal.gen.memori.v1.DeleteFactRequest,
              io.memorid.client.internal.gen.memori.v1.DeleteFactResponse>(
                service, METHODID_DELETE_FACT)))
        .addMethod(
          getForgetEntityMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.memorid.client.internal.gen.memori.v1.ForgetEntityRequest,
              io.memorid.client.internal.gen.memori.v1.ForgetEntityResponse>(
                service, METHODID_FORGET_ENTITY)))
        .addMethod(
          getGetSessionMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              io.memorid.client.internal.gen.memori.v1.GetSessionRequest,
              io.memorid.client.internal.gen.memori.v1.GetSessionResponse>(
                service, METHODID_GET_SESSION)))
        .build();
  }

  private static abstract class MemoryServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    MemoryServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.memorid.client.internal.gen.memori.v1.MemoryServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("MemoryService");
    }
  }

  private static final class MemoryServiceFileDescriptorSupplier
      extends MemoryServiceBaseDescriptorSupplier {
    MemoryServiceFileDescriptorSupplier() {}
  }

  private static final class MemoryServiceMethodDescriptorSupplier
      extends MemoryServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    MemoryServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (MemoryServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new MemoryServiceFileDescriptorSupplier())
              .addMethod(getRecallMethod())
              .addMethod(getAttributeMethod())
              .addMethod(getWaitForAugmentationMethod())
              .addMethod(getListFactsMethod())
              .addMethod(getDeleteFactMethod())
              .addMethod(getForgetEntityMethod())
              .addMethod(getGetSessionMethod())
              .build();
        }
      }
    }
    return result;
  }
}

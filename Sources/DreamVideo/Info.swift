import DreamEngine

public enum DreamVideoInfo {
    public static let version = "0.1.0"
}


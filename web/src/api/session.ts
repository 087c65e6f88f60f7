// Where the console keeps what it remembers. The API key lives in sessionStorage only (SPEC §10:
// never a cookie, never a URL): closing the tab forgets it. The org and workspace choices are
// remembered per browser (localStorage); they are not secrets.
const KEY = "capstan.apiKey";
const ORG = "capstan.org";
const workspaceKey = (org: string) => `capstan.workspace.${org}`;

export const session = {
  key(): string | null {
    return sessionStorage.getItem(KEY);
  },
  signIn(key: string): void {
    sessionStorage.setItem(KEY, key);
  },
  signOut(): void {
    sessionStorage.removeItem(KEY);
  },
};

export const preferences = {
  org(): string | null {
    return localStorage.getItem(ORG);
  },
  setOrg(org: string): void {
    localStorage.setItem(ORG, org);
  },
  workspace(org: string): string | null {
    return localStorage.getItem(workspaceKey(org));
  },
  setWorkspace(org: string, workspace: string): void {
    localStorage.setItem(workspaceKey(org), workspace);
  },
};

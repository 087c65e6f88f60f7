// The organization screen (owners): who belongs to it. Adding members, API keys and the audit log
// arrive with the next part of the console.
import { createRoute } from "@tanstack/react-router";
import { useMembers, useOrganization } from "../api/organization";
import { Badge } from "../components/Badge";
import { ErrorNotice } from "../components/ErrorNotice";
import { EmptyState, Loading } from "../components/States";
import { formatDate } from "../lib/format";
import { orgRoute } from "./org";

export const organizationRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "/settings",
  component: Organization,
});

function Organization() {
  const { org } = organizationRoute.useParams();
  const organization = useOrganization(org);
  const members = useMembers(org);
  return (
    <section aria-labelledby="org-title" className="space-y-4">
      <div>
        <h1 id="org-title" className="text-xl font-semibold">
          {organization.data?.name ?? org}
        </h1>
        {organization.data?.description && <p>{organization.data.description}</p>}
      </div>
      <h2 className="text-lg font-semibold">Members</h2>
      {members.isPending ? (
        <Loading label="Loading members…" />
      ) : members.isError ? (
        <ErrorNotice error={members.error} onRetry={() => members.refetch()} />
      ) : members.data.length === 0 ? (
        <EmptyState title="No members" />
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-300 dark:border-slate-700">
          <table className="w-full text-left text-sm">
            <thead className="bg-slate-100 dark:bg-slate-800">
              <tr>
                <th scope="col" className="px-3 py-2">
                  Name
                </th>
                <th scope="col" className="px-3 py-2">
                  E-mail
                </th>
                <th scope="col" className="px-3 py-2">
                  Role
                </th>
                <th scope="col" className="px-3 py-2">
                  Since
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-200 bg-white dark:divide-slate-800 dark:bg-slate-900">
              {members.data.map((member) => (
                <tr key={member.user_id}>
                  <td className="px-3 py-2">{member.name}</td>
                  <td className="px-3 py-2">{member.email}</td>
                  <td className="px-3 py-2">
                    <Badge tone={member.role === "owner" ? "blue" : "slate"}>{member.role}</Badge>
                  </td>
                  <td className="px-3 py-2 whitespace-nowrap">{formatDate(member.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
